#ifndef PODCTL_SHIMS_H
#define PODCTL_SHIMS_H

#include <sys/types.h>

/// podctl's C calls that Swift cannot make directly (macros, struct cmsghdr); wrapped by
/// Controller's ControlSocket.swift and MuxLauncher.swift only.

/// The UID of the process at the other end of a connected Unix socket (getsockopt SO_PEERCRED),
/// as the kernel recorded it at connect time. Returns 0 and sets *uid, or an errno value.
int pc_peer_uid(int fd, uid_t *uid);

/// Sends one byte with `passed` attached as SCM_RIGHTS. Returns 0 or an errno value.
int pc_send_fd(int sock, int passed);

/// Receives one byte and the descriptor attached to it (close-on-exec). Returns 0 and sets *received
/// (-1 when the byte came without one), ECONNRESET at end of stream, or an errno value.
int pc_recv_fd(int sock, int *received);

/// Starts `path` in a new session (setsid: no controlling terminal, so the user's Ctrl-C does not reach
/// it), stdin from /dev/null and stdout/stderr appended to `log_path`, with default signal handling and
/// no descriptors beyond the three. Returns 0 and sets *pid, or an errno value.
int pc_spawn_detached(const char *path, char *const argv[], char *const envp[], const char *log_path, pid_t *pid);

/// An eventfd (close-on-exec, non-blocking) one thread writes to wake another's poll. Returns it, or -1.
int pc_wake_fd(void);

#endif
