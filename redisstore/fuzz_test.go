package redisstore

import (
	"maps"
	"testing"
)

// FuzzDecodeValues feeds arbitrary stored sessions to the decoder: never a
// panic, and whatever it accepts encodes back to values that decode the
// same.
func FuzzDecodeValues(f *testing.F) {
	f.Add(encodeValues(map[string]string{"idToken": "a.b.c", "refreshToken": "r"}, 7))
	f.Add([]byte{})
	f.Add([]byte{valuesFormat, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{legacyFormat, 1, 'k', 1, 'v'})
	f.Fuzz(func(t *testing.T, data []byte) {
		values, head, version, ok := decodeSession(data)
		if !ok {
			return
		}
		if head == "" || (data[0] == valuesFormat && head != string(data[:headLen])) {
			t.Fatalf("head %q of %q", head, data)
		}
		again, _, v, ok := decodeSession(encodeValues(values, version))
		if !ok || v != version || !maps.Equal(again, values) {
			t.Fatalf("accepted values do not encode back: %q", data)
		}
	})
}
