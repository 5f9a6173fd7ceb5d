// Package serve is scandeliver's resident front door: an LMTP server
// (RFC 2033, on go-smtp) that hands each message to the pipeline and
// replies for each recipient.
//
// # Contract
//
//   - The configuration is an immutable *pipeline.Snapshot, loaded by the
//     caller (cmd); Reload swaps it atomically for the messages that start
//     afterwards, the messages in flight keep theirs.
//   - A message is spooled once (pipeline.NewMessage) while it is read and
//     delivered with pipeline.Deliver; each recipient's Outcome becomes one
//     reply (Reply) and one summary line (Options.Log).
//   - Recipients are resolved at RCPT: a virtual mailbox from the [serve]
//     mailbox template (Expand, which refuses any address that would leave
//     the template's directory), an LMTP next hop, or a system user (the
//     caller's Options.Write writes as that user; cmd does it through a
//     root broker, the server itself runs as the unprivileged [serve]
//     user).
//   - Privileges are the caller's: cmd binds with Listen as root, then
//     drops to [serve] user before New (which runs the canary) and before
//     any session.
//   - An empty message is the pipeline's EmptyError: 550 5.6.0 (Reply).
//   - Shutdown closes the listeners, answers 421 to the sessions that are
//     not in the middle of a message, and waits for the others to reply.
//   - Listen refuses any TCP address that is not loopback: LMTP has no
//     authentication.
package serve
