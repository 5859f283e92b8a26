package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/coda-fs/coda/client"
	"github.com/coda-fs/coda/client/control"
	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
)

// exitUsage is the exit status of a usage error (main prints the message).
const exitUsage = 2

func usageErrorf(format string, args ...any) error {
	return cli.Exit(fmt.Sprintf(format, args...), exitUsage)
}

// callTimeout bounds one exchange with venus or a server.
const callTimeout = 30 * time.Second

// realmInfo asks venus for its realm, servers and CA.
func realmInfo(ctx context.Context, vc *control.Client) (client.RealmInfo, error) {
	var info client.RealmInfo
	err := vc.Call(ctx, client.OpRealm, nil, &info)
	return info, err
}

// openVenus connects to the venus serving mount and asks for its realm,
// which must be realm when that is given.
func openVenus(ctx context.Context, mount, realm string) (*control.Client, client.RealmInfo, error) {
	vc, err := control.DialPath(mount)
	if err != nil {
		return nil, client.RealmInfo{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	info, err := realmInfo(ctx, vc)
	if err == nil {
		err = checkRealm(realm, info)
	}
	if err != nil {
		vc.Close()
		return nil, client.RealmInfo{}, err
	}
	return vc, info, nil
}

// dialServer connects to addr (or, when addr is empty, to the first of
// info's servers that answers) over TLS pinned to the realm CA.
func dialServer(ctx context.Context, info client.RealmInfo, addr string) (*rpc.Conn, string, error) {
	tlsCfg, err := pki.ClientTLS([]byte(info.CAPEM), info.Realm)
	if err != nil {
		return nil, "", fmt.Errorf("realm CA: %w", err)
	}
	addrs := info.Servers
	if addr != "" {
		addrs = []string{addr}
	}
	hello := proto.Hello{Version: proto.Version, Realm: info.Realm, Name: "auth"}
	var errs []error
	for _, a := range addrs {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := rpc.Dial(dctx, a, hello, rpc.Config{TLS: tlsCfg}, &rpc.Mux{})
		cancel()
		if err == nil {
			return conn, a, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", a, err))
	}
	if len(errs) == 0 {
		return nil, "", fmt.Errorf("realm %s: no servers known", info.Realm)
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return nil, "", fmt.Errorf("no server of realm %s reachable: %s", info.Realm, strings.Join(msgs, "; "))
}

// splitUserRealm splits USER@REALM; both parts may be empty.
func splitUserRealm(s string) (user, realm string) {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// checkRealm refuses a realm other than the one venus serves.
func checkRealm(want string, info client.RealmInfo) error {
	if want != "" && want != info.Realm {
		return fmt.Errorf("this venus serves realm %s, not %s", info.Realm, want)
	}
	return nil
}

// Token files: a header line, then the token's wire form in base64.
const tokenFileHeader = "coda-token 1"

// writeTokenFile writes t to path, mode 0600, through a temporary file.
func writeTokenFile(path string, t *proto.TokenInfo) error {
	data := tokenFileHeader + "\n" + base64.StdEncoding.EncodeToString(proto.Marshal(t)) + "\n"
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(data)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err == nil {
			return nil
		}
	}
	tmp.Close()
	return fmt.Errorf("token file %s: %w", path, err)
}

// readTokenFile reads a file written by writeTokenFile.
func readTokenFile(path string) (proto.TokenInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return proto.TokenInfo{}, fmt.Errorf("token file: %w", err)
	}
	head, body, _ := strings.Cut(string(data), "\n")
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(body))
	var t proto.TokenInfo
	if head != tokenFileHeader || derr != nil || proto.Unmarshal(raw, &t) != nil || len(t.Token) == 0 {
		return proto.TokenInfo{}, fmt.Errorf("token file %s: not a coda token file", path)
	}
	return t, nil
}
