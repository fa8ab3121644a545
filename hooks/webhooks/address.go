package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// MaxURLLength bounds an endpoint's URL.
const MaxURLLength = 2000

// resolveTimeout bounds the DNS lookup of an endpoint's host at save.
const resolveTimeout = 5 * time.Second

// errPrivateAddress refuses a connection to an address of the shop's own
// network (see blockedAddr).
var errPrivateAddress = errors.New("the address is loopback, private, link-local or unspecified")

// specialPrefixes are ranges that are neither the shop's nor the public
// internet's beyond what netip's predicates cover: "this network",
// carrier-grade NAT (often the hosting provider's internal network), IETF
// protocol assignments, benchmarking, and the reserved 240/4.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// blockedAddr reports whether a webhook may not be sent to ip: loopback,
// private (RFC 1918, fc00::/7), link-local (169.254/16 with the cloud
// metadata services, fe80::/10), unspecified, multicast, or one of
// specialPrefixes. An IPv4 address written as IPv6 (::ffff:127.0.0.1)
// counts as the IPv4 address.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range specialPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// checkURL checks an endpoint's URL as the owner saves it: https (http
// only with allowPrivate), at most MaxURLLength characters, a host, and,
// unless allowPrivate, a host that is not and does not resolve to an
// address of the shop's own network. Its error is the message for the
// url field. With resolve false the host is not looked up (a literal
// address is still checked).
func checkURL(ctx context.Context, raw string, allowPrivate, resolve bool) error {
	if len(raw) > MaxURLLength {
		return fmt.Errorf("The URL must be at most %d characters (it has %d).", MaxURLLength, len(raw))
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return errors.New("The URL is not valid.")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case u.Scheme == "http":
		return errors.New("The URL must start with https:// (http:// only when POCKETSHOP_WEBHOOK_ALLOW_PRIVATE=1).")
	default:
		return errors.New("The URL must start with https://.")
	}
	if u.Hostname() == "" {
		return errors.New("The URL must name a host, e.g. https://crm.example.com/hooks/shop.")
	}
	if u.User != nil {
		return errors.New("The URL must not carry a user name or password.")
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if blockedAddr(ip) {
			return fmt.Errorf("The URL points at %s, an address of the shop's own network (loopback, private or link-local); set POCKETSHOP_WEBHOOK_ALLOW_PRIVATE=1 to allow it.", ip)
		}
		return nil
	}
	if !resolve {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return fmt.Errorf("The URL's host %s could not be resolved.", host)
	}
	for _, ip := range addrs {
		if blockedAddr(ip) {
			return fmt.Errorf("The URL's host %s resolves to %s, an address of the shop's own network (loopback, private or link-local); set POCKETSHOP_WEBHOOK_ALLOW_PRIVATE=1 to allow it.", host, ip.Unmap())
		}
	}
	return nil
}

// guardDial is a net.Dialer Control function: it refuses, after DNS
// resolution, a connection to an address of the shop's own network, so
// that a host that resolved to a public address when the owner saved it
// cannot be turned into a request to the shop's network later (DNS
// rebinding): the check is on the address actually dialled.
func guardDial(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("webhook dial %s: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook dial %s: %w", address, err)
	}
	if blockedAddr(ip) {
		return fmt.Errorf("webhook dial %s refused: %w (POCKETSHOP_WEBHOOK_ALLOW_PRIVATE is off)", address, errPrivateAddress)
	}
	return nil
}
