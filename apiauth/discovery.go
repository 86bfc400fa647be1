package apiauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/go-jose/go-jose/v4"
)

// maxBody caps discovery and JWKS answers.
const maxBody = 1 << 20

// discovery is what the validator needs from the provider metadata.
type discovery struct {
	jwksURI string
	algs    []jose.SignatureAlgorithm // advertised and asymmetric
}

// discovery returns the provider metadata, fetching it on first use. One
// fetch runs at a time; after a failure, callers fail fast for a cooldown.
func (v *Validator) discovery(ctx context.Context) (*discovery, error) {
	v.discMu.Lock()
	defer v.discMu.Unlock()
	if v.disc != nil {
		return v.disc, nil
	}
	now := v.now()
	if v.discErr != nil && now.Sub(v.discTried) < refetchCooldown {
		return nil, v.discErr
	}
	v.discTried = now
	d, err := v.fetchDiscovery(ctx)
	if err != nil {
		v.discErr = keysErr("discovery", err)
		return nil, v.discErr
	}
	v.disc, v.discErr = d, nil
	return d, nil
}

func (v *Validator) fetchDiscovery(ctx context.Context) (*discovery, error) {
	body, _, err := fetch(ctx, v.client, v.issuer+"/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	var m struct {
		Issuer        string   `json:"issuer"`
		JWKSURI       string   `json:"jwks_uri"`
		IDTokenAlgs   []string `json:"id_token_signing_alg_values_supported"`
		TokenAuthAlgs []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode discovery: %w", err)
	}
	if m.Issuer != v.issuer {
		return nil, fmt.Errorf("discovery issuer %q, want %q", m.Issuer, v.issuer)
	}
	if m.JWKSURI == "" {
		return nil, errors.New("discovery has no jwks_uri")
	}
	d := &discovery{jwksURI: m.JWKSURI}
	for _, a := range append(m.IDTokenAlgs, m.TokenAuthAlgs...) {
		alg := jose.SignatureAlgorithm(a)
		if slices.Contains(asymmetricAlgs, alg) && !slices.Contains(d.algs, alg) {
			d.algs = append(d.algs, alg)
		}
	}
	if len(d.algs) == 0 {
		return nil, errors.New("discovery advertises no asymmetric signing algorithm")
	}
	return d, nil
}

// fetch GETs uri and returns a 200 answer's body, at most maxBody bytes, and
// headers. The fetch is not canceled with ctx, since other callers may wait
// for it, but ctx's values pass through.
func fetch(ctx context.Context, client *http.Client, uri string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, uri, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: status %d", uri, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", uri, err)
	}
	if len(body) > maxBody {
		return nil, nil, fmt.Errorf("GET %s: body larger than %d bytes", uri, maxBody)
	}
	return body, resp.Header, nil
}
