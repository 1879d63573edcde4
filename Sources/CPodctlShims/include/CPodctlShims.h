#ifndef PODCTL_SHIMS_H
#define PODCTL_SHIMS_H

#include <sys/types.h>

/// podctl's C calls that Swift cannot make directly (macros, struct cmsghdr); wrapped by
/// Controller's ControlSocket.swift and KeptSession.swift only (the mux's detached start
/// is CShims' `pa_spawn_detached`, the agent's fork path).

/// The UID of the process at the other end of a connected Unix socket (getsockopt SO_PEERCRED),
/// as the kernel recorded it at connect time. Returns 0 and sets *uid, or an errno value.
int pc_peer_uid(int fd, uid_t *uid);

/// Sends one byte with `passed` attached as SCM_RIGHTS. Returns 0 or an errno value.
int pc_send_fd(int sock, int passed);

/// Receives one byte and the descriptor attached to it (close-on-exec). Returns 0 and sets *received
/// (-1 when the byte came without one), ECONNRESET at end of stream, or an errno value.
int pc_recv_fd(int sock, int *received);

/// An eventfd (close-on-exec, non-blocking) one thread writes to wake another's poll. Returns it, or -1.
int pc_wake_fd(void);

#endif
