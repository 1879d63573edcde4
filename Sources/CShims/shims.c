#define _GNU_SOURCE
#include "CShims.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

/* ---- pa_spawn / pa_spawn_as: fork, set the child up, take the identity, parent-death signal, exec ----
   posix_spawn can neither change a child's credentials nor give it a parent-death signal, so the
   child is forked and set up by hand. Between fork and exec it calls only async-signal-safe functions
   and raw system calls: the parent has other threads, whose locks (malloc's included) may be held at
   the moment of the fork. setgroups/setresgid/setresuid go through syscall(2) directly: in the child
   the calling thread is the only one, and glibc's wrappers would try to apply the change to every
   thread of the process. */

/* Reports errno to the parent through `report` and ends the child. */
static void pa_child_fail(int report, int error) {
    ssize_t ignored = write(report, &error, sizeof error);
    (void)ignored;
    _exit(127);
}

/* Closes every descriptor from `low` to `high` inclusive (high < 0: to the end). */
static void pa_close_between(int low, int high) {
    if (high >= 0 && high < low) return;
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned int)low, high < 0 ? ~0U : (unsigned int)high, 0) == 0) return;
#endif
    struct rlimit limit;
    long last = (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) ? (long)limit.rlim_cur - 1 : 65535;
    if (high >= 0 && high < last) last = high;
    for (long fd = low; fd <= last; fd++) close((int)fd);
}

/* How a child is placed: in podagent's process group, in a group of its own, or detached (a session of
   its own and no parent-death signal: it outlives the program that started it). */
enum pa_placement { PA_SAME_GROUP = 0, PA_OWN_GROUP = 1, PA_DETACHED = 2 };

static void pa_child(const pa_identity *identity, int report, pid_t parent, const char *path, char *const argv[], char *const envp[],
                     const int fds[3], enum pa_placement placement, const char *cwd) {
    /* Default dispositions while every signal is still blocked, so no handler of podagent's runs here. */
    /* rt_sigaction directly, as posix_spawn does internally: glibc's sigaction refuses the signals it
       reserves for itself (32, 33), which may be ignored in podagent. The kernel's struct with a null
       handler (SIG_DFL) and no flags needs no restorer. */
    struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } dfl = {0, 0, 0, 0};
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof dfl.mask);
    }
    if (placement == PA_OWN_GROUP && setpgid(0, 0) != 0) pa_child_fail(report, errno);
    if (placement == PA_DETACHED && setsid() < 0) pa_child_fail(report, errno);

    /* The three streams. A source below 3 that is not its own target is first moved above 2, so no
       dup2 overwrites a source that a later one still needs. */
    int sources[3];
    for (int i = 0; i < 3; i++) {
        sources[i] = fds[i];
        if (sources[i] >= 0 && sources[i] < 3 && sources[i] != i) {
            sources[i] = fcntl(sources[i], F_DUPFD, 3);
            if (sources[i] < 0) pa_child_fail(report, errno);
        }
    }
    for (int i = 0; i < 3; i++) {
        if (sources[i] < 0) {
            int null = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
            if (null < 0) pa_child_fail(report, errno);
            sources[i] = null;
        }
        if (sources[i] == i) {
            if (fcntl(i, F_SETFD, 0) != 0) pa_child_fail(report, errno);  /* inherited: keep it across exec */
        } else if (dup2(sources[i], i) < 0) {
            pa_child_fail(report, errno);
        }
    }
    if (cwd != NULL && chdir(cwd) != 0) pa_child_fail(report, errno);
    /* Nothing but the three streams (and the report pipe, close-on-exec) reaches the program: a leaked
       write descriptor would keep a freshly written script "busy" (ETXTBSY) for the child's life. */
    pa_close_between(3, report - 1);
    pa_close_between(report + 1, -1);

    if (identity != NULL) {
        if (syscall(SYS_setgroups, (size_t)identity->group_count, identity->groups) != 0) pa_child_fail(report, errno);
        if (syscall(SYS_setresgid, identity->gid, identity->gid, identity->gid) != 0) pa_child_fail(report, errno);
        if (syscall(SYS_setresuid, identity->uid, identity->uid, identity->uid) != 0) pa_child_fail(report, errno);
        /* Dropping root must be for good: getting uid 0 back now would mean it was not. */
        if (identity->uid != 0 && syscall(SYS_setresuid, (uid_t)-1, (uid_t)0, (uid_t)-1) == 0) pa_child_fail(report, EPERM);
    }
    /* The child dies with podagent (even SIGKILLed, when it is not PID 1), so no sshd keeps our port,
       no worker keeps a GPU. Set after the identity: a change of credentials clears it. The signal
       follows the forking thread, so podagent forks from one thread that never ends; a parent gone
       before prctl took effect is caught by getppid. */
    if (placement != PA_DETACHED) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) pa_child_fail(report, errno);
        if (getppid() != parent) pa_child_fail(report, ESRCH);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);
    execve(path, argv, envp);
    pa_child_fail(report, errno);
}

static int pa_spawn_placed(const pa_identity *identity, const char *path, char *const argv[], char *const envp[],
                           int stdin_fd, int stdout_fd, int stderr_fd,
                           enum pa_placement placement, const char *cwd, pid_t *pid);

int pa_spawn(const char *path, char *const argv[], char *const envp[],
             int stdin_fd, int stdout_fd, int stderr_fd,
             int new_process_group, const char *cwd, pid_t *pid) {
    return pa_spawn_as(NULL, path, argv, envp, stdin_fd, stdout_fd, stderr_fd, new_process_group, cwd, pid);
}

int pa_spawn_as(const pa_identity *identity, const char *path, char *const argv[], char *const envp[],
                int stdin_fd, int stdout_fd, int stderr_fd,
                int new_process_group, const char *cwd, pid_t *pid) {
    return pa_spawn_placed(identity, path, argv, envp, stdin_fd, stdout_fd, stderr_fd,
                           new_process_group ? PA_OWN_GROUP : PA_SAME_GROUP, cwd, pid);
}

int pa_spawn_detached(const char *path, char *const argv[], char *const envp[], const char *log_path, pid_t *pid) {
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) return errno;
    int rc = pa_spawn_placed(NULL, path, argv, envp, -1, log, log, PA_DETACHED, NULL, pid);
    close(log);
    return rc;
}

static int pa_spawn_placed(const pa_identity *identity, const char *path, char *const argv[], char *const envp[],
                           int stdin_fd, int stdout_fd, int stderr_fd,
                           enum pa_placement placement, const char *cwd, pid_t *pid) {
    if (identity != NULL && (identity->group_count < 0 || (identity->group_count > 0 && identity->groups == NULL))) return EINVAL;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    const int fds[3] = {stdin_fd, stdout_fd, stderr_fd};
    pid_t parent = getpid();
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t child = fork();
    if (child == 0) {
        close(report[0]);
        pa_child(identity, report[1], parent, path, argv, envp, fds, placement, cwd);
    }
    int fork_error = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (fork_error != 0) {
        close(report[0]);
        return fork_error;
    }
    /* EOF: the exec happened (the pipe closed on exec). An int: the child failed before exec. */
    int child_error = 0;
    ssize_t got;
    do {
        got = read(report[0], &child_error, sizeof child_error);
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof child_error) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return child_error != 0 ? child_error : ECHILD;
    }
    *pid = child;
    return 0;
}

int pa_set_child_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 ? 0 : errno;
}

int pa_wifexited(int status) { return WIFEXITED(status); }
int pa_wexitstatus(int status) { return WEXITSTATUS(status); }
int pa_wifsignaled(int status) { return WIFSIGNALED(status); }
int pa_wtermsig(int status) { return WTERMSIG(status); }

int pa_set_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return errno;
    return fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0 ? 0 : errno;
}

int pa_set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return errno;
    return fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0 ? 0 : errno;
}

void pa_ignore_sigpipe(void) { signal(SIGPIPE, SIG_IGN); }

int pa_random_bytes(void *buffer, size_t count) {
    ssize_t got = getrandom(buffer, count, 0);
    if (got < 0) return errno;
    return (size_t)got == count ? 0 : EIO;
}

long pa_raise_nofile_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
    }
    return (long)rl.rlim_cur;
}

long pa_nofile_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return -1;
    return (long)rl.rlim_cur;
}

int pa_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno; }

static void pa_noop_handler(int sig) { (void)sig; }

int pa_install_noop_handler(int sig) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = pa_noop_handler;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    return sigaction(sig, &action, NULL) == 0 ? 0 : errno;
}

int pa_limit_malloc_arenas(int arenas) { return mallopt(M_ARENA_MAX, arenas); }
