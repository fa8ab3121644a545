package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The receiver's verifier of README.md ("Outgoing webhooks"), verbatim
// between the markers: TestReadmeVerifierIsThisOne keeps the two the same,
// and the delivery tests verify every POST with it.

// README-GO-VERIFIER-START
// verifySignature checks a Pocketshop-Signature header against the raw
// request body, as Stripe's libraries check Stripe-Signature.
func verifySignature(body []byte, header, secret string, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("no timestamp in the signature")
	}
	if age := time.Since(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return errors.New("the signature is too old (or from the future)")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if got, err := hex.DecodeString(s); err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no valid signature")
}

// README-GO-VERIFIER-END

// TestReadmeVerifierIsThisOne checks that README.md shows the verifier the
// tests use, character for character.
func TestReadmeVerifierIsThisOne(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("verify_readme_test.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(src), "// README-GO-VERIFIER-"+"START\n")
	code, _, _ := strings.Cut(rest, "\n// README-GO-VERIFIER-"+"END")
	if code == "" || !strings.Contains(string(readme), "```go\n"+code+"```") {
		t.Errorf("README.md does not show the verifier of verify_readme_test.go in a ```go block:\n%s", code)
	}
	// The Node receiver of the SDK tests (e2e/) uses the README's Node verifier.
	js, err := os.ReadFile("../../e2e/lib/verify-webhook.js")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```js\n"+string(js)+"```") {
		t.Errorf("README.md does not show e2e/lib/verify-webhook.js in a ```js block")
	}
}
