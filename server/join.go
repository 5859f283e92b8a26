package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/location"
	"github.com/coda-fs/coda/server/pki"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/realmdb"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
)

// Joining a realm. The operator copies the SCM's db/realm.secret to the new
// server and runs `coda server init --join SCM --secret FILE`. The new
// server fetches the realm CA from the SCM (trust on first use), pins it,
// and sends its id, address and TLS public key with a MAC under the secret
// that covers the connection's nonce and the CA it sees; the SCM checks it,
// records the server in the servers database, and answers with the signed
// certificate and the admin key, proved the same way. The CA key never
// leaves the SCM, and the private key never leaves the new server.

// joinTimeout bounds the whole exchange.
const joinTimeout = 30 * time.Second

// joinRealm asks the SCM at o.Join to admit this server and writes what it
// gets into db: ca.pem, server.pem, server.key, volutil.key, realm.secret.
func joinRealm(ctx context.Context, o InitOptions, db string) error {
	secret, err := pki.ParseAdminKey(o.RealmSecret)
	if err != nil {
		return fmt.Errorf("realm secret: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	caPEM, err := pki.FetchCA(ctx, o.Join, o.Realm)
	if err != nil {
		return fmt.Errorf("join %s: %w", o.Join, err)
	}
	fp, err := pki.Fingerprint(caPEM)
	if err != nil {
		return err
	}
	tlsCfg, err := pki.ClientTLS(caPEM, o.Realm)
	if err != nil {
		return err
	}
	hello := proto.Hello{Version: proto.Version, Realm: o.Realm, Name: fmt.Sprintf("server %d joining", o.ID)}
	conn, err := rpc.Dial(ctx, o.Join, hello, rpc.Config{TLS: tlsCfg}, &rpc.Mux{})
	if err != nil {
		return fmt.Errorf("join %s: %w", o.Join, err)
	}
	defer conn.Close()
	keyPEM, pub, err := pki.NewServerKey()
	if err != nil {
		return err
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	req := proto.Join{ServerID: o.ID, Addr: o.Listen, PubKey: pub, Nonce: nonce}
	req.MAC = pki.RealmMAC(secret, proto.JoinLabel, conn.HelloReply.Nonce, []byte(fp),
		fmt.Appendf(nil, "%d", o.ID), []byte(o.Listen), pub, nonce)
	var reply proto.JoinReply
	if err := conn.Call(ctx, proto.OpJoin, &req, &reply, nil); err != nil {
		if errors.Is(err, proto.ErrAccess) {
			return fmt.Errorf("the SCM %s refused to admit this server: %w", o.Join, err)
		}
		return fmt.Errorf("join %s: %w", o.Join, err)
	}
	if !pki.CheckRealmMAC(secret, reply.Proof, proto.JoinReplyLabel, nonce, reply.Cert, reply.AdminKey) {
		return fmt.Errorf("join %s: the reply does not prove the realm secret; not the realm's SCM?", o.Join)
	}
	if _, err := pki.ServerTLS(reply.Cert, keyPEM, caPEM); err != nil {
		return fmt.Errorf("join %s: the certificate it signed: %w", o.Join, err)
	}
	if _, err := pki.ParseAdminKey(reply.AdminKey); err != nil {
		return fmt.Errorf("join %s: the admin key it sent: %w", o.Join, err)
	}
	for name, data := range map[string][]byte{"ca.pem": caPEM, "server.pem": reply.Cert} {
		if err := writeFileSync(filepath.Join(db, name), data, 0o644); err != nil {
			return err
		}
	}
	for name, data := range map[string][]byte{"server.key": keyPEM, "volutil.key": reply.AdminKey,
		"realm.secret": o.RealmSecret} {
		if err := pki.WriteSecretFile(filepath.Join(db, name), data); err != nil {
			return err
		}
	}
	return nil
}

// joinService admits servers to the realm; it runs on the SCM.
type joinService struct {
	realm    string
	dbDir    string
	secret   []byte
	adminKey []byte // the admin key file's content
	nonceOf  func(*rpc.Request) []byte
	store    *store.DB
	wmu      *sync.Mutex
	servers  *realmdb.Database[location.Servers]
	log      *slog.Logger
}

func (j *joinService) handle(ctx context.Context, r *rpc.Request) (proto.Message, *rpc.Source, error) {
	var req proto.Join
	if err := r.Decode(&req); err != nil {
		return nil, nil, err
	}
	caPEM, err := os.ReadFile(filepath.Join(j.dbDir, "ca.pem"))
	if err != nil {
		return nil, nil, err
	}
	fp, err := pki.Fingerprint(caPEM)
	if err != nil {
		return nil, nil, err
	}
	if !pki.CheckRealmMAC(j.secret, req.MAC, proto.JoinLabel, j.nonceOf(r), []byte(fp),
		fmt.Appendf(nil, "%d", req.ServerID), []byte(req.Addr), req.PubKey, req.Nonce) {
		j.log.Warn("join refused: wrong realm secret (or another CA in between)", "server", req.ServerID, "addr", req.Addr, "from", r.Conn.RemoteAddr())
		return nil, nil, proto.Errorf(proto.CodeAccess, "realm secret rejected (is --secret a copy of the SCM's db/realm.secret?)")
	}
	if req.ServerID < 1 || req.ServerID > 255 {
		return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("server id %d out of range 1-255", req.ServerID))
	}
	caKey, err := pki.ReadSecretFile(filepath.Join(j.dbDir, "ca.key"))
	if err != nil {
		return nil, nil, err
	}
	cert, err := pki.SignServer(caPEM, caKey, j.realm, req.ServerID, req.Addr, req.PubKey)
	clear(caKey)
	if err != nil {
		return nil, nil, proto.Errorf(proto.CodeInvalid, err.Error())
	}
	j.wmu.Lock()
	defer j.wmu.Unlock()
	servers := j.servers.Value()
	if addr, ok := servers[req.ServerID]; ok && addr != req.Addr {
		return nil, nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("server id %d belongs to %s", req.ServerID, addr))
	}
	if id, ok := servers.ByAddr(req.Addr); ok && id != req.ServerID {
		return nil, nil, proto.Errorf(proto.CodeExists, fmt.Sprintf("%s is server %d", req.Addr, id))
	}
	if _, ok := servers[req.ServerID]; !ok {
		w, err := j.servers.Next(servers.With(req.ServerID, req.Addr))
		if err != nil {
			return nil, nil, err
		}
		if err := realmdb.Commit(j.store, w); err != nil {
			return nil, nil, err
		}
	}
	j.log.Info("server joined the realm", "server", req.ServerID, "addr", req.Addr)
	return &proto.JoinReply{Cert: cert, AdminKey: j.adminKey,
		Proof: pki.RealmMAC(j.secret, proto.JoinReplyLabel, req.Nonce, cert, j.adminKey)}, nil, nil
}
