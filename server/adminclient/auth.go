package adminclient

import (
	"context"
	"fmt"

	"github.com/coda-fs/coda/server/proto"
)

// PDB runs one pdbtool command on the SCM and returns its output.
func (c *Client) PDB(ctx context.Context, args []string) (string, error) {
	var out proto.Text
	if err := c.call(ctx, proto.OpPDBCommand, &proto.PDBCommand{Args: args}, &out); err != nil {
		return "", fmt.Errorf("%s: %w", c.addr, err)
	}
	return out.Text, nil
}

// SetPassword sets user's password on the SCM; an empty password deletes
// it (the user can no longer log in).
func (c *Client) SetPassword(ctx context.Context, user string, pw []byte) error {
	if err := c.call(ctx, proto.OpSetPassword, &proto.SetPassword{User: user, Password: pw}, &proto.Empty{}); err != nil {
		return fmt.Errorf("%s: %w", c.addr, err)
	}
	return nil
}
