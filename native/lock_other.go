//go:build !unix

package native

import (
	"context"
	"sync"
)

// processLocks stands in for a file lock where there is no flock: refreshes
// are serialized within the process only.
var processLocks sync.Map // path -> chan struct{}

func lockFile(ctx context.Context, path string) (func(), error) {
	ch, _ := processLocks.LoadOrStore(path, make(chan struct{}, 1))
	lock := ch.(chan struct{})
	select {
	case lock <- struct{}{}:
		return func() { <-lock }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
