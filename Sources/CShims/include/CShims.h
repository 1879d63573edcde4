#ifndef PODAGENT_CSHIMS_H
#define PODAGENT_CSHIMS_H

#include <sys/types.h>

/// Spawns `path` (fork, then exec). The child gets its own process group when
/// `new_process_group` is non-zero, an empty signal mask and default dispositions,
/// the given descriptors as stdin/stdout/stderr (-1 keeps /dev/null) and no other descriptor,
/// and SIGKILL as its parent-death signal (PR_SET_PDEATHSIG): it ends when podagent ends, even
/// killed with SIGKILL. That signal follows the calling *thread*, so call this from a thread
/// that lives as long as the process. An error in the child before exec is returned as its errno
/// (the child is reaped). `cwd` may be NULL. Returns 0 and sets *pid, or an errno value.
int pa_spawn(const char *path, char *const argv[], char *const envp[],
             int stdin_fd, int stdout_fd, int stderr_fd,
             int new_process_group, const char *cwd, pid_t *pid);

/// Who a child runs as. Taken in the child between fork and exec, in this order: supplementary
/// groups, then gid, then uid (each with setres*: real, effective and saved), so nothing of the
/// parent's identity survives into the child.
typedef struct pa_identity {
    uid_t uid;
    gid_t gid;
    /// The supplementary groups (may be NULL when group_count is 0).
    const gid_t *groups;
    int group_count;
} pa_identity;

/// pa_spawn that also switches the child to `identity` before exec (and sets the parent-death
/// signal after it: a change of credentials clears it). NULL `identity` is pa_spawn: one fork path
/// for both. Returns 0 or errno.
int pa_spawn_as(const pa_identity *identity, const char *path, char *const argv[], char *const envp[],
                int stdin_fd, int stdout_fd, int stderr_fd,
                int new_process_group, const char *cwd, pid_t *pid);

/// The same fork path for a program that must outlive its starter (podctl's background mux): a session
/// of its own (setsid, so the terminal's Ctrl-C does not reach it), no parent-death signal, stdin from
/// /dev/null, stdout and stderr appended to `log_path` (created 0600), the same empty signal mask, default
/// dispositions and no other descriptor. The caller does not reap it. Returns 0 and sets *pid, or errno.
int pa_spawn_detached(const char *path, char *const argv[], char *const envp[], const char *log_path, pid_t *pid);

/// prctl(PR_SET_CHILD_SUBREAPER, 1). Returns 0 or errno.
int pa_set_child_subreaper(void);

/// Decoding of wait(2) status words (macros in C, so not visible to Swift).
int pa_wifexited(int status);
int pa_wexitstatus(int status);
int pa_wifsignaled(int status);
int pa_wtermsig(int status);

/// Marks a descriptor close-on-exec. Returns 0 or errno.
int pa_set_cloexec(int fd);

/// Marks a descriptor non-blocking. Returns 0 or errno.
int pa_set_nonblocking(int fd);

/// Ignores SIGPIPE for the whole process (writes to closed pipes return EPIPE instead).
void pa_ignore_sigpipe(void);

/// Fills `buffer` with `count` (at most 256) bytes from the kernel's generator in one getrandom(2)
/// call. Returns 0, or errno (the caller falls back to another source).
int pa_random_bytes(void *buffer, size_t count);

/// Raises RLIMIT_NOFILE's soft limit to its hard limit. Returns the new soft limit.
long pa_raise_nofile_limit(void);

/// RLIMIT_NOFILE's soft limit; -1 when it cannot be read or is unlimited.
long pa_nofile_limit(void);

/// pipe2(fds, O_CLOEXEC): both ends close on exec so no other child inherits them. Returns 0 or errno.
int pa_pipe_cloexec(int fds[2]);

/// Installs a handler that does nothing for `sig`, so that a signal blocked in every thread stays
/// pending for sigtimedwait: with SIG_DFL the kernel drops SIGCHLD (default: ignore), and every
/// signal sent to PID 1, when the thread it checks (the exited main thread) does not block it.
/// Returns 0 or errno.
int pa_install_noop_handler(int sig);

/// mallopt(M_ARENA_MAX, arenas): glibc otherwise creates up to 8 arenas per core as threads
/// allocate, each keeping freed memory. Returns 1 when glibc took the setting, 0 when not.
int pa_limit_malloc_arenas(int arenas);

#endif
