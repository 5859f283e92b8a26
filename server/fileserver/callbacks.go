package fileserver

import (
	"context"
	"sync"
	"time"

	"github.com/coda-fs/coda/server/proto"
)

// breakTimeout bounds the delivery of one callback break. A holder that does
// not acknowledge in time loses its connection, and with it every promise:
// its venus then treats them all as broken and revalidates.
const breakTimeout = time.Second

// callbacks records which clients hold a promise on which objects.
// Promises belong to one connection: they die with it (Drop).
type callbacks struct {
	mu      sync.Mutex
	holders map[proto.FID]map[*client]struct{}
	volumes map[uint32]map[*client]struct{} // clients holding any promise in a volume
}

func newCallbacks() *callbacks {
	return &callbacks{holders: map[proto.FID]map[*client]struct{}{},
		volumes: map[uint32]map[*client]struct{}{}}
}

// Add gives cl a promise on fid. Call it before reading the state that is
// returned to cl, so that a change racing with the read is broken.
func (cb *callbacks) Add(cl *client, fid proto.FID) {
	if cl == nil || cl.id == 0 {
		return // admin tools cache nothing
	}
	cb.mu.Lock()
	defer cb.mu.Unlock()
	h := cb.holders[fid]
	if h == nil {
		h = map[*client]struct{}{}
		cb.holders[fid] = h
	}
	if _, ok := h[cl]; !ok {
		h[cl] = struct{}{}
		cl.promises[fid] = struct{}{}
	}
	v := cb.volumes[fid.Volume]
	if v == nil {
		v = map[*client]struct{}{}
		cb.volumes[fid.Volume] = v
	}
	v[cl] = struct{}{}
}

// Drop removes every promise of cl (its connection died).
func (cb *callbacks) Drop(cl *client) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	for fid := range cl.promises {
		if h := cb.holders[fid]; h != nil {
			delete(h, cl)
			if len(h) == 0 {
				delete(cb.holders, fid)
			}
		}
	}
	cl.promises = map[proto.FID]struct{}{}
	for vol, v := range cb.volumes {
		delete(v, cl)
		if len(v) == 0 {
			delete(cb.volumes, vol)
		}
	}
}

// take removes the promises on fids held by anyone but except and returns,
// per holder, the fids to break.
func (cb *callbacks) take(fids []proto.FID, except *client) map[*client][]proto.FID {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	out := map[*client][]proto.FID{}
	for _, fid := range fids {
		if fid.Vnode == 0 { // a whole volume
			for cl := range cb.volumes[fid.Volume] {
				if cl != except {
					out[cl] = append(out[cl], fid)
				}
			}
			continue
		}
		for cl := range cb.holders[fid] {
			if cl == except {
				continue
			}
			out[cl] = append(out[cl], fid)
			delete(cb.holders[fid], cl)
			delete(cl.promises, fid)
		}
		if len(cb.holders[fid]) == 0 {
			delete(cb.holders, fid)
		}
	}
	return out
}

// Break delivers breaks for fids to every holder but except, in parallel,
// and returns when each has acknowledged or lost its connection.
func (cb *callbacks) Break(fids []proto.FID, except *client) {
	if len(fids) == 0 {
		return
	}
	targets := cb.take(fids, except)
	if len(targets) == 0 {
		return
	}
	var wg sync.WaitGroup
	for cl, list := range targets {
		wg.Add(1)
		go func(cl *client, list []proto.FID) {
			defer wg.Done()
			cl.deliver(cb, list)
		}(cl, list)
	}
	wg.Wait()
}

// Count returns the number of promises held, for tests and metrics.
func (cb *callbacks) Count() int {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	n := 0
	for _, h := range cb.holders {
		n += len(h)
	}
	return n
}

// deliver sends one break to cl; on failure cl's connection is closed so
// its venus drops every promise from this server.
func (cl *client) deliver(cb *callbacks, fids []proto.FID) {
	ctx, cancel := context.WithTimeout(context.Background(), breakTimeout)
	defer cancel()
	err := cl.conn.Call(ctx, proto.OpCallbackBreak, &proto.CallbackBreak{FIDs: fids}, &proto.Empty{}, nil)
	if err != nil {
		cl.log.Warn("callback break not delivered; closing the client's connection",
			"client", cl.name, "err", err)
		cb.Drop(cl)
		cl.conn.Close()
	}
}
