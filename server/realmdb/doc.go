// Package realmdb holds the realm databases of a server: small, whole-value
// databases (the protection database, the password hashes, the servers of
// the realm, the volume location database) that the SCM writes and every
// other server copies (server/dbsync). Each is one store key 'R'+name
// holding an 8-byte version and the encoded value; the version only grows,
// a change is one synced batch that may span several databases, and the
// published value is immutable, so readers never lock.
package realmdb
