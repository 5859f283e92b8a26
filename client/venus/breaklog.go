package venus

import "github.com/coda-fs/coda/server/proto"

// breakLogSize is how many recent breaks are remembered; a request that
// spans more breaks than this is treated as broken.
const breakLogSize = 4096

// breakLog numbers every callback break so that a reply can tell whether a
// break for its object arrived after its request was sent: such a reply is
// applied without a promise. A FID with Vnode 0 stands for its whole volume.
type breakLog struct {
	seq  uint64
	ring [breakLogSize]struct {
		seq uint64
		fid proto.FID
	}
}

func (b *breakLog) add(fid proto.FID) {
	b.seq++
	e := &b.ring[b.seq%breakLogSize]
	e.seq, e.fid = b.seq, fid
}

// since reports whether a break concerning fid was added after sequence from.
func (b *breakLog) since(fid proto.FID, from uint64) bool {
	if b.seq-from >= breakLogSize {
		return true
	}
	for s := from + 1; s <= b.seq; s++ {
		e := b.ring[s%breakLogSize].fid
		if e == fid || (e.Vnode == 0 && e.Volume == fid.Volume) {
			return true
		}
	}
	return false
}

// stamp is taken when a request is sent: the promise generation of the
// connection it goes out on and the break sequence at that moment.
type stamp struct {
	gen, seq uint64
	who      int32 // the Coda user the request acted as (0: anonymous)
	local    bool  // the reply was emulated: the update is in the CML
}

// promiseOK reports whether a reply sent under st still carries a valid
// promise on fid: same connection, no break for fid since. Callers hold v.mu.
func (v *Venus) promiseOK(st stamp, fid proto.FID) bool {
	return st.gen != 0 && st.gen == v.gen && !v.breaks.since(fid, st.seq)
}
