package native_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/seed098cf14d/logto"
	"github.com/seed098cf14d/logto/logtotest"
	"github.com/seed098cf14d/logto/native"
)

// A command-line tool signs a person in with the device flow. Here the dev
// provider stands in for Logto and approves at once, as the person would
// at VerificationURI.
func Example() {
	provider, err := logtotest.Start(logtotest.Options{DevicePollInterval: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()

	client, err := native.New(native.Config{
		Endpoint: provider.Endpoint(),
		AppID:    provider.NativeClientID(),
		Cache:    native.NewMemoryCache(), // native.NewFileCache(path) to keep it between runs
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	claims, err := client.LoginDevice(ctx, native.DeviceOptions{Show: func(d *logto.DeviceAuthorization) error {
		// A real tool prints: visit d.VerificationURI and enter d.UserCode.
		return provider.ApproveDevice(d.UserCode, "")
	}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed in as", claims.Subject)
	// Output: signed in as dev-user-1
}
