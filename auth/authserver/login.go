package authserver

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"

	"github.com/coda-fs/coda/auth/password"
	"github.com/coda-fs/coda/auth/token"
	"github.com/coda-fs/coda/server/proto"
)

// Login checks user's password and returns a token sealed with the realm
// secret. addr is the caller's address (host:port); the throttle counts
// failures per user and per host. Unknown users, users without a
// password and wrong passwords all give proto.ErrAuth. Login does not keep
// or modify pw.
func (s *Service) Login(ctx context.Context, user string, pw []byte, addr string) (proto.TokenInfo, error) {
	uid, err := s.authenticate(ctx, user, pw, addr)
	if err != nil {
		return proto.TokenInfo{}, err
	}
	t := token.New(s.cfg.Realm, uid, user, s.now(), s.cfg.Lifetime)
	b, err := token.Seal(s.cfg.Secret, t)
	if err != nil {
		return proto.TokenInfo{}, fmt.Errorf("sealing a token for %s: %w", user, err)
	}
	s.log.Debug("login", "user", user, "addr", addr)
	return proto.TokenInfo{Token: b, UserID: uid, User: user, Expires: t.Expires.UnixNano()}, nil
}

// ChangePassword sets user's password to newPW, proven by the old one
// (cpasswd). Only the SCM accepts it. It keeps neither slice.
func (s *Service) ChangePassword(ctx context.Context, user string, old, newPW []byte, addr string) error {
	if !s.cfg.SCM {
		return s.readOnly("passwords change")
	}
	if err := checkNewPassword(newPW); err != nil {
		return err
	}
	uid, err := s.authenticate(ctx, user, old, addr)
	if err != nil {
		return err
	}
	hash, err := s.hash(ctx, newPW)
	if err != nil {
		return err
	}
	return s.storeHash(uid, user, hash)
}

// SetPassword sets user's password (au nu, au cp) or, when pw is empty,
// deletes it (au du). The user must exist. Only the SCM accepts it; the
// caller checks that the requester is an administrator. It does not keep
// pw.
func (s *Service) SetPassword(user string, pw []byte) error {
	if !s.cfg.SCM {
		return s.readOnly("passwords change")
	}
	id, ok := s.pdb.Value().Lookup(user)
	if !ok || id <= 0 {
		return proto.Errorf(proto.CodeNotFound, fmt.Sprintf("no such user %q", clip(user)))
	}
	var hash string
	if len(pw) > 0 {
		if err := checkNewPassword(pw); err != nil {
			return err
		}
		var err error
		if hash, err = s.hash(context.Background(), pw); err != nil {
			return err
		}
	}
	return s.storeHash(id, user, hash)
}

// storeHash records hash ("" deletes) as the password of user id, if the
// pdb still has that user.
func (s *Service) storeHash(id int32, user, hash string) error {
	err := s.mutate(func(c *change) error {
		if name, ok := s.pdb.Value().Name(id); !ok || name != user {
			return proto.Errorf(proto.CodeNotFound, fmt.Sprintf("no such user %q", clip(user)))
		}
		pw := c.passwords()
		if hash == "" {
			delete(pw, id)
		} else {
			pw[id] = pwEntry{name: user, hash: hash}
		}
		return nil
	})
	if err == nil {
		s.log.Info("password changed", "user", user, "deleted", hash == "")
	}
	return err
}

func checkNewPassword(pw []byte) error {
	switch {
	case len(pw) == 0:
		return proto.Errorf(proto.CodeInvalid, "the new password is empty")
	case len(pw) > proto.MaxPassword:
		return proto.Errorf(proto.CodeInvalid, fmt.Sprintf("the new password is longer than %d bytes", proto.MaxPassword))
	}
	return nil
}

// authenticate waits out the throttle, then checks pw against user's
// stored hash. Every refusal is proto.ErrAuth and one log line.
func (s *Service) authenticate(ctx context.Context, user string, pw []byte, addr string) (int32, error) {
	host := hostOf(addr)
	if d := s.lim.Wait(user, host, s.now()); d > 0 {
		if err := s.sleep(ctx, d); err != nil {
			return 0, fmt.Errorf("login of %s abandoned: %w", clip(user), err)
		}
	}
	var id int32
	hash, found := "", false
	if i, ok := s.pdb.Value().Lookup(user); ok && i > 0 {
		id = i
		hash, found = s.pw.Value().lookup(i, user)
	}
	ok, err := s.verify(ctx, hash, found, pw)
	if err != nil {
		return 0, err
	}
	if !ok {
		s.lim.Failed(user, host, s.now())
		s.log.Warn("login failed", "user", clip(user), "addr", addr)
		return 0, proto.ErrAuth
	}
	s.lim.Succeeded(user, host, s.now())
	return id, nil
}

// verify checks pw against hash. When the user has no hash (found is
// false) it verifies against a dummy hash and fails, so that unknown
// users cost the same time as known ones.
func (s *Service) verify(ctx context.Context, hash string, found bool, pw []byte) (bool, error) {
	if !found {
		hash = s.dummyHash()
	}
	if hash == "" {
		return false, nil
	}
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer s.release()
	ok, err := password.Verify(hash, pw)
	if err != nil {
		s.log.Error("stored password hash is unusable", "err", err)
		return false, nil
	}
	return ok && found, nil
}

// dummyHash returns a hash of a random password, made once.
func (s *Service) dummyHash() string {
	s.dummyOnce.Do(func() {
		pw := make([]byte, 32)
		_, _ = rand.Read(pw)
		s.dummy, _ = password.HashWith(s.params, pw)
	})
	return s.dummy
}

// hash hashes a new password.
func (s *Service) hash(ctx context.Context, pw []byte) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()
	return password.HashWith(s.params, pw)
}

// acquire takes one of the argon2 slots (each run holds params.Memory).
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password check abandoned: %w", ctx.Err())
	}
}

func (s *Service) release() { <-s.hashing }

// hostOf returns the host part of addr (the throttle key of an address).
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// clip shortens a caller-supplied name for a message or a log line.
func clip(s string) string {
	if len(s) > proto.MaxUserName {
		return s[:proto.MaxUserName] + "..."
	}
	return s
}

// zero overwrites a password buffer.
func zero(b []byte) { clear(b) }
