package volume

import "encoding/binary"

// The keyspace, all big-endian so that keys sort numerically:
//
//	'H' vol                       → volume header (name, type, root, replicas)
//	'N' name                      → volume id (name index)
//	'O' vol vnode                 → vnode record
//	'D' vol dirVnode name         → directory entry (vnode, uniquifier, type)
//	'P' vol vnode dirVnode name   → back-reference: a name of vnode (hard links,
//	                                getpath, dumps see every name)
//	'I' vol vnode                 → inline data of a small file
//	'A' vol                       → the highest vnode number AllocFIDs handed out
//	'M' vol client                → store ids of the records last taken from the
//	                                client in reintegration batches (reintegrate.go)
//
// Directory entries are keyed by (directory, name), so a lookup is one point
// get and a readdir one range scan, whatever the directory's size.
const (
	pfxHeader = 'H'
	pfxName   = 'N'
	pfxVnode  = 'O'
	pfxEntry  = 'D'
	pfxParent = 'P'
	pfxInline = 'I'
	pfxAlloc  = 'A'
)

func allocKey(vol uint32) []byte { return binary.BigEndian.AppendUint32([]byte{pfxAlloc}, vol) }

// inlineKey holds the data of a small file stored inline.
func inlineKey(vol, vnode uint32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxInline}, vol)
	return binary.BigEndian.AppendUint32(k, vnode)
}

func headerKey(vol uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{pfxHeader}, vol)
}

func nameKey(name string) []byte { return append([]byte{pfxName}, name...) }

func vnodeKey(vol, vnode uint32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxVnode}, vol)
	return binary.BigEndian.AppendUint32(k, vnode)
}

// keyVnode returns the vnode number of a vnode key.
func keyVnode(k []byte) uint32 { return binary.BigEndian.Uint32(k[5:9]) }

// vnodeSpan returns the key range holding every vnode of vol.
func vnodeSpan(vol uint32) (lo, hi []byte) {
	return vnodeKey(vol, 0), binary.BigEndian.AppendUint32([]byte{pfxVnode}, vol+1)
}

func entryPrefix(vol, dir uint32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxEntry}, vol)
	return binary.BigEndian.AppendUint32(k, dir)
}

func entryKey(vol, dir uint32, name string) []byte {
	return append(entryPrefix(vol, dir), name...)
}

func parentPrefix(vol, vnode uint32) []byte {
	k := binary.BigEndian.AppendUint32([]byte{pfxParent}, vol)
	return binary.BigEndian.AppendUint32(k, vnode)
}

func parentKey(vol, vnode, dir uint32, name string) []byte {
	k := binary.BigEndian.AppendUint32(parentPrefix(vol, vnode), dir)
	return append(k, name...)
}

// prefixEnd returns the smallest key greater than every key with prefix p.
func prefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}
