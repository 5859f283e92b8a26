package fileserver

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coda-fs/coda/resolve"
	"github.com/coda-fs/coda/server/proto"
	"github.com/coda-fs/coda/server/rpc"
	"github.com/coda-fs/coda/server/volume"
)

// volutil resync brings every replica of a volume level without any
// client. The server the tool talks to lists every replica's vnodes with
// their version vectors, page by page and merged by vnode number, and
// levels what differs: directories first (phase 0: each resolved as a
// client access would, which also creates the objects a lagging replica
// lacks, as placeholders), then everything else (phase 1). Small files and
// symlinks move in batches — one request reads up to 256 states with their
// data from the dominant replica, one installs them on the lagging replica
// in one transaction — and large files stream one by one, several at a
// time. Every install is conditional on the lagging replica still holding
// what the listing showed, so clients may keep reading and writing: what
// changed meanwhile is left to their accesses or to the next resync.

// resyncStep is how long one resync request works before it replies.
const resyncStep = time.Second

// resyncWorkers bounds the batches and large files copied at once.
const resyncWorkers = 8

// A step stops planning once it has this many objects to resolve one by
// one, or this many bytes of large files to copy, so that it replies in
// reasonable time; the rest of its page is the next step's.
const (
	maxSlowPerStep = 512
	maxBigPerStep  = 1 << 30
)

// resync serves one step of volutil resync.
func (s *Server) resync(ctx context.Context, cl *client, r *rpc.Request, req *proto.Resync) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "resync needs the admin key")
	}
	if req.Phase > 1 {
		return nil, nil, proto.Errorf(proto.CodeInvalid, fmt.Sprintf("resync: no phase %d", req.Phase))
	}
	v, err := s.cfg.Volumes.ByID(req.Volume)
	if err != nil {
		return nil, nil, err
	}
	ctx = context.WithValue(ctx, inResync{}, true)
	rs := &resyncer{s: s, v: v, reps: v.Info().Replicas, out: &proto.ResyncReply{Phase: req.Phase, After: req.After}}
	rs.out.Total = rs.total(ctx)
	stop := time.Now().Add(resyncStep)
	for !rs.out.Done && time.Now().Before(stop) {
		if err := rs.page(ctx); err != nil {
			return nil, nil, err
		}
	}
	return rs.out, nil, nil
}

// resyncer is one resync step's state.
type resyncer struct {
	s    *Server
	v    *volume.Volume
	reps []proto.Replica
	out  *proto.ResyncReply
	mu   sync.Mutex // guards out's counters and problems
}

func (rs *resyncer) problem(format string, args ...any) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if len(rs.out.Problems) < proto.MaxResyncProblems {
		rs.out.Problems = append(rs.out.Problems, fmt.Sprintf(format, args...))
	}
}

func (rs *resyncer) copied(n int, bytes int64) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.out.Copied += uint64(n)
	rs.out.Bytes += bytes
}

// total is the largest replica's vnode count (for the tool's progress).
func (rs *resyncer) total(ctx context.Context) uint64 {
	n := rs.v.Info().Files
	for _, rep := range rs.reps {
		if rep.ServerID == rs.s.cfg.ServerID {
			continue
		}
		conn, err := rs.s.peers.get(ctx, rep.Addr)
		if err != nil {
			continue
		}
		var info proto.VolumeInfo
		cctx, cancel := context.WithTimeout(ctx, peerTimeout)
		if conn.Call(cctx, proto.OpGetVolumeInfo, &proto.VolumeRef{ID: rs.v.ID()}, &info, nil) == nil {
			n = max(n, info.Files)
		}
		cancel()
	}
	return n
}

// row is one vnode as each replica lists it (nil: absent there).
type row struct {
	fid  proto.FID
	sums []*proto.VnodeSummary
}

// list reads one page of every replica's vnodes after vnode after; down
// marks the replicas that could not be reached. It returns the rows up to
// the page's end and that end (the next cursor), and whether more follow.
func (rs *resyncer) list(ctx context.Context, after uint32) (rows []row, end uint32, more bool, down []bool) {
	pages := make([][]proto.VnodeSummary, len(rs.reps))
	mores := make([]bool, len(rs.reps))
	down = make([]bool, len(rs.reps))
	var wg sync.WaitGroup
	for i, rep := range rs.reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if rep.ServerID == rs.s.cfg.ServerID {
				pages[i], mores[i], err = rs.v.Summaries(after, proto.MaxListVnodes, true)
			} else {
				var conn *rpc.Conn
				if conn, err = rs.s.peers.get(ctx, rep.Addr); err == nil {
					var page proto.ListVnodesReply
					cctx, cancel := context.WithTimeout(ctx, peerTimeout)
					err = conn.Call(cctx, proto.OpListVnodes, &proto.ListVnodes{Volume: rs.v.ID(), After: after,
						Max: proto.MaxListVnodes, Quick: true}, &page, nil)
					cancel()
					pages[i], mores[i] = page.Vnodes, page.More
				}
			}
			if err != nil {
				down[i] = true
				rs.problem("server %s: %v", rep.Addr, err)
			}
		}()
	}
	wg.Wait()
	end = ^uint32(0)
	for i := range pages {
		if mores[i] && len(pages[i]) > 0 {
			more = true
			end = min(end, pages[i][len(pages[i])-1].FID.Vnode)
		}
	}
	byVnode := map[uint32]*row{}
	var order []uint32
	for i, page := range pages {
		for j := range page {
			sum := &page[j]
			if sum.FID.Vnode > end {
				break
			}
			rw := byVnode[sum.FID.Vnode]
			if rw == nil {
				rw = &row{fid: sum.FID, sums: make([]*proto.VnodeSummary, len(rs.reps))}
				byVnode[sum.FID.Vnode] = rw
				order = append(order, sum.FID.Vnode)
			}
			rw.sums[i] = sum
		}
	}
	if !more {
		end = 0
		for _, vn := range order {
			end = max(end, vn)
		}
	}
	slices.Sort(order)
	rows = make([]row, len(order))
	for i, vn := range order {
		rows[i] = *byVnode[vn]
	}
	return rows, end, more, down
}

// level reports whether every reachable replica holds rw with one version.
func level(rw row, down []bool) bool {
	var first *proto.VnodeSummary
	for i, sum := range rw.sums {
		if down[i] {
			continue
		}
		if sum == nil {
			return false
		}
		if first == nil {
			first = sum
		} else if sum.VV != first.VV {
			return false
		}
	}
	return true
}

// page levels one page of the current phase and moves the cursor.
func (rs *resyncer) page(ctx context.Context) error {
	rows, end, more, down := rs.list(ctx, rs.out.After)
	reachable := 0
	for _, d := range down {
		if !d {
			reachable++
		}
	}
	if reachable < 2 {
		rs.out.Done = true
		return nil
	}
	var slow, missing []proto.FID
	batches := map[[2]int]*batch{}
	var ready []*batch
	var bigBytes int64
	for k, rw := range rows {
		if len(slow) >= maxSlowPerStep || bigBytes >= maxBigPerStep {
			// Enough work for one step: the rest of the page is the next.
			end, more = rows[k-1].fid.Vnode, true
			break
		}
		rs.out.Scanned++
		if level(rw, down) {
			continue
		}
		isDir := false
		for _, sum := range rw.sums {
			if sum != nil && sum.Type == proto.TypeDir {
				isDir = true
			}
		}
		if isDir != (rs.out.Phase == 0) {
			continue
		}
		if isDir {
			if countPresent(rw, down) < countUp(down) {
				// Absent somewhere: its parent is resolved first, which
				// may race with the parent's own row; these go one by one
				// after the others.
				missing = append(missing, rw.fid)
			} else {
				slow = append(slow, rw.fid)
			}
			continue
		}
		rs.plan(rw, down, &slow, batches, &ready)
		for _, sum := range rw.sums {
			if sum != nil && sum.Size > proto.MaxInlineData {
				bigBytes += sum.Size
				break
			}
		}
	}
	for _, b := range batches {
		ready = append(ready, b)
	}
	rs.run(ctx, slow, ready)
	for _, fid := range missing {
		rs.resolve(ctx, fid)
	}
	rs.out.After = end
	if !more {
		if rs.out.Phase == 0 {
			rs.out.Phase, rs.out.After = 1, 0
		} else {
			rs.out.Done = true
		}
	}
	return nil
}

// batch is small objects to copy from one replica to another.
type batch struct {
	from, to int
	fids     []proto.FID
	expect   []proto.VV
	bytes    int64
}

// plan decides how a non-directory that is not level is copied: batched
// when it is small and plainly dominated, else resolved on its own.
func (rs *resyncer) plan(rw row, down []bool, slow *[]proto.FID, batches map[[2]int]*batch, ready *[]*batch) {
	var idx []int
	var vvs []proto.VV
	for i, sum := range rw.sums {
		if !down[i] && sum != nil {
			idx = append(idx, i)
			vvs = append(vvs, sum.VV)
		}
	}
	d, ok := resolve.Dominant(vvs)
	if !ok {
		rs.problem("%v: the replicas diverged (version vectors %v); not resolved", rw.fid, vvs)
		return
	}
	dom := rw.sums[idx[d]]
	if dom.Size > proto.MaxInlineData || len(idx) < countUp(down) || dom.Type == proto.TypeNone {
		*slow = append(*slow, rw.fid)
		return
	}
	for j := range idx {
		if j == d || vvs[j] == vvs[d] {
			continue
		}
		if resolve.Compare(vvs[j], vvs[d]) != resolve.Dominated {
			*slow = append(*slow, rw.fid) // weakly equal: a new version vector only
			return
		}
	}
	for j, i := range idx {
		if j == d || vvs[j] == vvs[d] {
			continue
		}
		key := [2]int{idx[d], i}
		b := batches[key]
		if b == nil {
			b = &batch{from: idx[d], to: i}
			batches[key] = b
		}
		b.fids = append(b.fids, rw.fid)
		b.expect = append(b.expect, vvs[j])
		b.bytes += dom.Size
		if len(b.fids) == proto.MaxAllocFIDs || b.bytes >= proto.MaxBatchBytes-proto.MaxInlineData {
			*ready = append(*ready, b)
			delete(batches, key)
		}
	}
}

func countPresent(rw row, down []bool) int {
	n := 0
	for i, sum := range rw.sums {
		if !down[i] && sum != nil {
			n++
		}
	}
	return n
}

func countUp(down []bool) int {
	n := 0
	for _, d := range down {
		if !d {
			n++
		}
	}
	return n
}

// run copies the batches and resolves the rest, resyncWorkers at a time.
func (rs *resyncer) run(ctx context.Context, slow []proto.FID, batches []*batch) {
	work := make(chan func(), resyncWorkers)
	var wg sync.WaitGroup
	for range resyncWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fn := range work {
				fn()
			}
		}()
	}
	for _, b := range batches {
		work <- func() { rs.copyBatch(ctx, b) }
	}
	for _, fid := range slow {
		work <- func() { rs.resolve(ctx, fid) }
	}
	close(work)
	wg.Wait()
}

// resolve levels one object as a client's access would.
func (rs *resyncer) resolve(ctx context.Context, fid proto.FID) {
	var b resolveBytes
	res := rs.s.resolveOne(ctx, fid, 0, &b)
	switch res.Outcome {
	case proto.ResolveDone:
		rs.copied(1, b.n.Load())
	case proto.ResolveNamesInConflict:
		rs.copied(1, b.n.Load())
		rs.problem("%s", res.Msg)
	case proto.ResolveConflict, proto.ResolveIncomplete:
		rs.problem("%s", res.Msg)
	}
}

// copyBatch reads b's states from its dominant replica and installs them
// on the lagging one.
func (rs *resyncer) copyBatch(ctx context.Context, b *batch) {
	states, err := rs.readStates(ctx, rs.reps[b.from], b.fids)
	if err != nil {
		rs.problem("read %d objects at %s: %v", len(b.fids), rs.reps[b.from].Addr, err)
		return
	}
	var bytes int64
	for i := range states {
		states[i].Expect, states[i].HasExpect = b.expect[i], true
		bytes += int64(len(states[i].Data))
	}
	results, err := rs.installStates(ctx, rs.reps[b.to], states)
	if err != nil {
		rs.problem("install %d objects at %s: %v", len(states), rs.reps[b.to].Addr, err)
		return
	}
	n := 0
	var again []proto.FID
	for i, res := range results {
		if res.Outcome == proto.ResolveEqual {
			n++
		} else {
			again = append(again, states[i].FID) // changed meanwhile: on its own, with retries
		}
	}
	rs.copied(n, bytes)
	for _, fid := range again {
		rs.resolve(ctx, fid)
	}
}

// readStates reads a batch of states (small files' data inline) at rep.
func (rs *resyncer) readStates(ctx context.Context, rep proto.Replica, fids []proto.FID) ([]proto.VnodeState, error) {
	if rep.ServerID == rs.s.cfg.ServerID {
		return rs.v.ReadStates(fids)
	}
	conn, err := rs.s.peers.get(ctx, rep.Addr)
	if err != nil {
		return nil, err
	}
	var r proto.VnodeStates
	cctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	if err := conn.Call(cctx, proto.OpGetVnodes, &proto.FIDList{FIDs: fids}, &r, nil); err != nil {
		return nil, err
	}
	if len(r.States) != len(fids) {
		return nil, proto.Errorf(proto.CodeProtocol, "getvnodes: wrong number of states")
	}
	return r.States, nil
}

// installStates installs a batch at rep; the outcome of each state is
// ResolveEqual when it was installed, else ResolveIncomplete with why.
func (rs *resyncer) installStates(ctx context.Context, rep proto.Replica, states []proto.VnodeState) ([]proto.ResolveResult, error) {
	if rep.ServerID == rs.s.cfg.ServerID {
		return rs.s.installMany(rs.v, states)
	}
	conn, err := rs.s.peers.get(ctx, rep.Addr)
	if err != nil {
		return nil, err
	}
	var r proto.InstallReply
	cctx, cancel := context.WithTimeout(ctx, peerTimeout)
	defer cancel()
	if err := conn.Call(cctx, proto.OpInstallVnodes, &proto.VnodeStates{States: states}, &r, nil); err != nil {
		return nil, err
	}
	if len(r.Results) != len(states) {
		return nil, proto.Errorf(proto.CodeProtocol, "installvnodes: wrong number of results")
	}
	return r.Results, nil
}

// installMany installs a batch on this server's replica v.
func (s *Server) installMany(v *volume.Volume, states []proto.VnodeState) ([]proto.ResolveResult, error) {
	errs, ch, err := v.InstallMany(states)
	if err != nil {
		return nil, err
	}
	s.finish(nil, ch)
	out := make([]proto.ResolveResult, len(states))
	for i, e := range errs {
		if e != nil {
			out[i] = proto.ResolveResult{Outcome: proto.ResolveIncomplete, Msg: e.Error()}
		}
	}
	return out, nil
}

// getVnodes serves a batch of states to another server.
func (s *Server) getVnodes(ctx context.Context, cl *client, r *rpc.Request, req *proto.FIDList) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "getvnodes is for servers (the admin key) only")
	}
	if len(req.FIDs) == 0 {
		return &proto.VnodeStates{}, nil, nil
	}
	v, err := s.volume(req.FIDs[0])
	if err != nil {
		return nil, nil, err
	}
	states, err := v.ReadStates(req.FIDs)
	if err != nil {
		return nil, nil, err
	}
	return &proto.VnodeStates{States: states}, nil, nil
}

// installVnodes installs a batch another server sends.
func (s *Server) installVnodes(ctx context.Context, cl *client, r *rpc.Request, req *proto.VnodeStates) (proto.Message, *rpc.Source, error) {
	if !cl.admin {
		return nil, nil, proto.Errorf(proto.CodeAccess, "installvnodes is for servers (the admin key) only")
	}
	if len(req.States) == 0 {
		return &proto.InstallReply{}, nil, nil
	}
	v, err := s.volume(req.States[0].FID)
	if err != nil {
		return nil, nil, err
	}
	res, err := s.installMany(v, req.States)
	if err != nil {
		return nil, nil, err
	}
	return &proto.InstallReply{Results: res}, nil, nil
}
