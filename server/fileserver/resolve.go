package fileserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/store"
	"github.com/coda-fs/coda/server/volume"
)

// Dominance resolution, server to server. A client that sees replicas of
// an object disagree asks one server holding a replica to resolve it; that
// server reads every replica's state (its own directly, the others with
// getvnode over admin-key connections), picks the dominant one and
// installs it on the replicas that lag (installvnode), each install
// conditional on the lagging replica still holding what was read. An
// object missing on some replicas has its directory resolved first, which
// creates it there (or shows it was removed). Replicas that diverged are
// reported, never overwritten.

// peerTimeout bounds one server-to-server request of resolution.
const peerTimeout = 30 * time.Second

// maxResolveDepth bounds the chain of parent directories resolved first.
const maxResolveDepth = 64

// peers holds this server's admin connections to the other servers.
type peers struct {
	dial  func(ctx context.Context, addr string) (*rpc.Conn, error)
	mu    sync.Mutex
	conns map[string]*rpc.Conn
}

// get returns a live connection to addr, dialling when there is none.
func (p *peers) get(ctx context.Context, addr string) (*rpc.Conn, error) {
	if p.dial == nil {
		return nil, proto.Errorf(proto.CodeNotSupported, "this server cannot reach other servers")
	}
	p.mu.Lock()
	c := p.conns[addr]
	p.mu.Unlock()
	if c != nil {
		select {
		case <-c.Done():
		default:
			return c, nil
		}
	}
	c, err := p.dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.conns == nil {
		p.conns = map[string]*rpc.Conn{}
	}
	if old := p.conns[addr]; old != nil && old != c {
		old.Close()
	}
	p.conns[addr] = c
	p.mu.Unlock()
	return c, nil
}

func (p *peers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Close drops the server's connections to other servers.
func (s *Server) Close() { s.peers.close() }

// getVnode serves a replica's state of an object to another server.
func (s *Server) getVnode(ctx context.Context, cl *client, r *rpc.Request, req *proto.GetVnode) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "getvnode is for servers (the admin key) only")
	}
	v, err := s.volume(req.FID)
	if err != nil {
		return nil, nil, err
	}
	st, data, err := v.ReadState(req.FID)
	if err != nil {
		return nil, nil, err
	}
	if data == nil {
		return &st, nil, nil
	}
	if !req.Data {
		if data.Container != nil {
			data.Container.Close()
		}
		return &st, nil, nil
	}
	return &st, dataSource(data, data.Attr.Size), nil
}

// installVnode installs a state another server resolved.
func (s *Server) installVnode(ctx context.Context, cl *client, r *rpc.Request, req *proto.VnodeState) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		if r.Data != nil {
			r.Data.Discard()
		}
		return nil, nil, proto.Errorf(proto.CodeAccess, "installvnode is for servers (the admin key) only")
	}
	a := volume.InstallArgs{State: *req}
	if r.Data != nil {
		var err error
		if a.Container, a.Blocks, a.Inline, err = s.receiveAny(r, req.Size); err != nil {
			return nil, nil, err
		}
	}
	v, err := s.volume(req.FID)
	if err == nil {
		var ch *volume.Change
		ch, err = v.Install(a)
		s.finish(nil, ch)
	}
	if err != nil && a.Container != 0 {
		s.cfg.DB.RemoveContainer(a.Container)
	}
	if err != nil {
		return nil, nil, err
	}
	return &proto.Empty{}, nil, nil
}

// receiveAny receives an uploaded file of size bytes: inline when it is
// small.
func (s *Server) receiveAny(r *rpc.Request, size int64) (store.ContainerID, int64, []byte, error) {
	if size <= volume.InlineMax {
		b, err := receiveInline(r, size)
		return 0, 0, b, err
	}
	id, blocks, err := s.receive(r, size)
	return id, blocks, nil, err
}

// resolveFIDs serves a client's request to resolve objects.
func (s *Server) resolveFIDs(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDList) (proto.Message, *rpc.Source, error) {
	out := &proto.ResolveReply{Results: make([]proto.ResolveResult, len(req.FIDs))}
	for i, fid := range req.FIDs {
		out.Results[i] = s.Resolve(ctx, fid)
		if o := out.Results[i].Outcome; int(o) < len(s.resolved) {
			s.resolved[o].Add(1)
		}
	}
	return out, nil, nil
}

// Resolve brings the replicas of fid level, as far as they can be reached.
func (s *Server) Resolve(ctx context.Context, fid proto.FID) proto.ResolveResult {
	return s.resolveOne(ctx, fid, 0, nil)
}

// staleTries is how often resolution of an object starts over when a
// replica changed between the read and the install (clients keep
// writing), staleBackoff×try apart, so that a burst of writes can pass.
const (
	staleTries   = 6
	staleBackoff = 20 * time.Millisecond
)

// errChanged: a replica changed while resolution copied it.
var errChanged = proto.Errorf(proto.CodeStale, "the dominant replica changed during resolution")

// resolveBytes counts the file bytes resolution copied.
type resolveBytes struct{ n atomic.Int64 }

func (b *resolveBytes) add(n int64) {
	if b != nil {
		b.n.Add(n)
	}
}

// replicaView is what resolution knows of one replica.
type replicaView struct {
	rep   proto.Replica
	local bool
	st    proto.VnodeState
	err   error // unreachable or refused
}

func (s *Server) resolveOne(ctx context.Context, fid proto.FID, depth int, copied *resolveBytes) proto.ResolveResult {
	for try := 1; ; try++ {
		res, stale := s.resolveOnce(ctx, fid, depth, copied)
		if !stale || try == staleTries {
			return res
		}
		select {
		case <-time.After(time.Duration(try) * staleBackoff):
		case <-ctx.Done():
			return res
		}
	}
}

// resolveOnce is one attempt of resolveOne; stale reports that an install
// failed because a replica changed meanwhile.
func (s *Server) resolveOnce(ctx context.Context, fid proto.FID, depth int, copied *resolveBytes) (res proto.ResolveResult, stale bool) {
	v, err := s.volume(fid)
	if err != nil {
		return proto.ResolveResult{Outcome: proto.ResolveIncomplete, Msg: err.Error()}, false
	}
	views := s.readStates(ctx, v, fid)
	var present, absent int
	for _, rv := range views {
		switch {
		case rv.err != nil:
		case rv.st.Exists:
			present++
		default:
			absent++
		}
	}
	if present == 0 {
		return proto.ResolveResult{Outcome: proto.ResolveEqual}, false
	}
	if absent > 0 && depth < maxResolveDepth {
		// Created while some replicas were away, or removed on some: the
		// directory's resolution decides, then the object itself.
		var parent proto.FID
		for _, rv := range views {
			if rv.err == nil && rv.st.Exists && !rv.st.Parent.IsZero() {
				parent = rv.st.Parent
			}
		}
		if !parent.IsZero() && parent != fid {
			s.resolveOne(ctx, parent, depth+1, copied)
			views = s.readStates(ctx, v, fid)
		}
	}
	var idx []int
	var vvs []proto.VV
	var unreachable []string
	for i, rv := range views {
		if rv.err != nil {
			unreachable = append(unreachable, fmt.Sprintf("%s: %v", rv.rep.Addr, rv.err))
			continue
		}
		if rv.st.Exists {
			idx = append(idx, i)
			vvs = append(vvs, rv.st.VV)
		}
	}
	if len(idx) == 0 {
		return proto.ResolveResult{Outcome: proto.ResolveEqual}, false
	}
	d, ok := resolve.Dominant(vvs)
	if !ok && views[idx[0]].st.Type == proto.TypeDir {
		return s.mergeDirs(ctx, v, fid, views)
	}
	if !ok {
		if res, done := s.byPolicy(ctx, v, fid, views, views[idx[0]].st.Type == proto.TypeDir); done {
			return res, false
		}
		s.announce(fid, views, "replicas diverged: a conflict", "fid", fid, "vvs", fmt.Sprint(vvs))
		return proto.ResolveResult{Outcome: proto.ResolveConflict,
			Msg: fmt.Sprintf("%v: the replicas diverged (version vectors %v)", fid, vvs)}, false
	}
	merged := resolve.Merge(vvs...)
	dom := views[idx[d]]
	if dom.st.Type == proto.TypeDir {
		if lost := s.removedUpdated(ctx, v, dom, views, idx, vvs, d); len(lost) > 0 {
			if res, done := s.keepUpdated(ctx, v, fid, views, idx, dom, lost); done {
				return res, false
			}
			c := describeUpdated(lost)
			s.announce(fid, views, "an object removed on one side was updated on another: a conflict", "dir", fid, "what", c)
			return proto.ResolveResult{Outcome: proto.ResolveConflict, Msg: shorten(fmt.Sprintf("%v: %s", fid, c))}, false
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []string
	did := false
	for j, i := range idx {
		if vvs[j] == merged {
			continue
		}
		full := resolve.Compare(vvs[j], vvs[d]) == resolve.Dominated
		did = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.install(ctx, v, dom, views[i], merged, full); err != nil {
				mu.Lock()
				failed = append(failed, fmt.Sprintf("%s: %v", views[i].rep.Addr, err))
				stale = stale || isStale(err)
				mu.Unlock()
			} else if full && dom.st.Type == proto.TypeFile {
				copied.add(dom.st.Size)
			}
		}()
	}
	wg.Wait()
	if did && len(failed) == 0 && dom.st.Type == proto.TypeDir {
		// The directory is equal everywhere now: the replicas that were
		// not copied to drop their resolution logs too.
		for j, i := range idx {
			if vvs[j] == merged {
				if err := s.install(ctx, v, dom, views[i], merged, false); err != nil {
					failed = append(failed, fmt.Sprintf("%s: %v", views[i].rep.Addr, err))
					stale = stale || isStale(err)
				}
			}
		}
	}
	failed = append(failed, unreachable...)
	switch {
	case len(failed) > 0:
		return proto.ResolveResult{Outcome: proto.ResolveIncomplete, Msg: fmt.Sprintf("%v: %v", fid, failed)}, stale
	case did:
		return proto.ResolveResult{Outcome: proto.ResolveDone}, false
	}
	return proto.ResolveResult{Outcome: proto.ResolveEqual}, false
}

// readStates reads every replica's state of fid (no data), in parallel.
func (s *Server) readStates(ctx context.Context, v *volume.Volume, fid proto.FID) []replicaView {
	reps := v.Info().Replicas
	views := make([]replicaView, len(reps))
	var wg sync.WaitGroup
	for i, rep := range reps {
		views[i] = replicaView{rep: rep, local: rep.ServerID == s.cfg.ServerID}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rv := &views[i]
			if rv.local {
				var data *volume.Data
				rv.st, data, rv.err = v.ReadState(fid)
				if data != nil && data.Container != nil {
					data.Container.Close()
				}
				return
			}
			rv.st, rv.err = s.peerState(ctx, rep.Addr, fid, nil)
		}()
	}
	wg.Wait()
	return views
}

// peerState reads another server's state of fid; with sink set, the file's
// data is received into it.
func (s *Server) peerState(ctx context.Context, addr string, fid proto.FID, sink rpc.Sink) (proto.VnodeState, error) {
	var st proto.VnodeState
	conn, err := s.peers.get(ctx, addr)
	if err != nil {
		return st, err
	}
	cctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	var opts *rpc.CallOpts
	if sink != nil {
		opts = &rpc.CallOpts{Download: sink}
	}
	err = conn.Call(cctx, proto.OpGetVnode, &proto.GetVnode{FID: fid, Data: sink != nil}, &st, opts)
	return st, err
}

// install copies dom's state (full) or only the version vector vv to the
// replica to, on condition that to still holds what was read of it.
func (s *Server) install(ctx context.Context, v *volume.Volume, dom, to replicaView, vv proto.VV, full bool) error {
	st := dom.st
	if !full {
		st.Record, st.Entries = nil, nil
	}
	st.FID = to.st.FID
	st.VV = vv
	st.Expect, st.HasExpect = to.st.VV, true
	var data *volume.Data
	var tmp store.ContainerID
	if full && st.Type == proto.TypeFile {
		var err error
		if data, tmp, err = s.domData(ctx, v, dom, dom.st.FID, &st); err != nil {
			return err
		}
	}
	if to.local {
		a := volume.InstallArgs{State: st}
		if data != nil {
			a.Inline = data.Inline
			if data.Container != nil {
				data.Container.Close()
				a.Container, a.Blocks = tmp, data.Attr.Blocks
				tmp = 0
			}
		}
		ch, err := v.Install(a)
		if err != nil && a.Container != 0 {
			s.cfg.DB.RemoveContainer(a.Container)
		}
		s.finish(nil, ch)
		return err
	}
	defer func() {
		if tmp != 0 {
			s.cfg.DB.RemoveContainer(tmp)
		}
	}()
	conn, err := s.peers.get(ctx, to.rep.Addr)
	if err != nil {
		if data != nil && data.Container != nil {
			data.Container.Close()
		}
		return err
	}
	var opts *rpc.CallOpts
	if data != nil {
		opts = &rpc.CallOpts{Upload: dataSource(data, st.Size)}
	}
	cctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	return conn.Call(cctx, proto.OpInstallVnode, &st, &proto.Empty{}, opts)
}

// domData opens the dominant replica's data of a file: its own container
// when this server is the dominant one (re-read, so the state and data are
// one version), else a copy received into a temporary container of this
// server (returned as tmp, for the caller to use or remove).
func (s *Server) domData(ctx context.Context, v *volume.Volume, dom replicaView, src proto.FID, st *proto.VnodeState) (*volume.Data, store.ContainerID, error) {
	if dom.local {
		cur, data, err := v.ReadState(src)
		if err != nil {
			return nil, 0, err
		}
		if cur.VV != dom.st.VV {
			if data != nil && data.Container != nil {
				data.Container.Close()
			}
			return nil, 0, errChanged
		}
		if data == nil {
			data = &volume.Data{}
		}
		data.Attr.Size = st.Size
		return data, 0, nil // the target is another server: streamed from here
	}
	size := st.Size
	if size <= volume.InlineMax {
		// The file may have grown since its state was read: take what
		// comes (up to a limit) and compare versions after.
		sink := &memSink{max: volume.InlineMax}
		got, err := s.peerState(ctx, dom.rep.Addr, src, sink)
		if err == nil && got.VV != dom.st.VV || errors.Is(err, errSinkFull) {
			err = errChanged
		}
		if err != nil {
			return nil, 0, err
		}
		b := sink.b
		for len(b) > 0 && b[len(b)-1] == 0 {
			b = b[:len(b)-1]
		}
		return &volume.Data{Inline: append([]byte{}, b...), Attr: proto.Attr{Size: size}}, 0, nil
	}
	w, err := s.cfg.DB.NewContainer()
	if err != nil {
		return nil, 0, err
	}
	sink := &containerSink{w: w}
	got, err := s.peerState(ctx, dom.rep.Addr, src, sink)
	if err == nil && got.VV != dom.st.VV {
		err = errChanged
	}
	if err != nil {
		w.Abort()
		return nil, 0, err
	}
	if sink.blocks == 0 {
		w.Abort()
		return &volume.Data{Attr: proto.Attr{Size: size}}, 0, nil
	}
	id, err := w.Commit()
	if err != nil {
		return nil, 0, err
	}
	ct, err := s.cfg.DB.OpenContainer(id)
	if err != nil {
		s.cfg.DB.RemoveContainer(id)
		return nil, 0, err
	}
	return &volume.Data{Container: ct, Attr: proto.Attr{Size: size, Blocks: sink.blocks}}, id, nil
}

// isStale reports whether err says a replica changed under resolution.
func isStale(err error) bool { return errors.Is(err, proto.ErrStale) }

// announce logs a conflict once per state of its replicas: every access
// finds it again until it is repaired.
func (s *Server) announce(fid proto.FID, views []replicaView, msg string, args ...any) {
	var b strings.Builder
	fmt.Fprint(&b, fid)
	for _, rv := range views {
		fmt.Fprint(&b, " ", rv.st.VV)
	}
	if _, seen := s.announced.LoadOrStore(b.String(), true); !seen {
		s.log.Warn(msg, args...)
	}
}

// removedUpdated checks, before a dominant directory's entries replace a
// lagging replica's, that nothing the dominant side removed was updated on
// the lagging side after the version the removal saw (remove/update): it
// returns such entries, each with the replica that updated it.
func (s *Server) removedUpdated(ctx context.Context, v *volume.Volume, dom replicaView, views []replicaView, idx []int, vvs []proto.VV, d int) []updatedEntry {
	removedAt := map[proto.FID]proto.VV{}
	for _, op := range dom.st.Log {
		if k := resolve.OpKind(op.Kind); k == resolve.OpDelete {
			removedAt[op.FID] = op.ObjVV
		}
	}
	if len(removedAt) == 0 {
		return nil
	}
	keep := map[proto.FID]bool{}
	for _, de := range dom.st.Entries {
		keep[de.FID] = true
	}
	var out []updatedEntry
	for j, i := range idx {
		if j == d || resolve.Compare(vvs[j], vvs[d]) != resolve.Dominated {
			continue
		}
		for _, de := range views[i].st.Entries {
			saw, removed := removedAt[de.FID]
			if keep[de.FID] || !removed {
				continue
			}
			obj := s.readStates(ctx, v, de.FID)
			if st := obj[i]; st.err == nil && st.st.Exists {
				if o := resolve.Compare(st.st.VV, saw); o == resolve.Dominates || o == resolve.Concurrent {
					out = append(out, updatedEntry{DirEntry: de, by: views[i].rep})
					keep[de.FID] = true
				}
			}
		}
	}
	return out
}

// updatedEntry is an entry one side removed and another updated.
type updatedEntry struct {
	proto.DirEntry
	by proto.Replica // the replica that updated it
}

func describeUpdated(lost []updatedEntry) string {
	var b strings.Builder
	for i, e := range lost {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q removed on one side, updated on server %s", e.Name, e.by.Addr)
	}
	return b.String()
}
