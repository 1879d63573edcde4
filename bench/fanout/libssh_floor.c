/* The bare libssh floor for `exec true` on N pods: what a C program with nothing but libssh can do.
 *
 *   libssh_floor cold FANOUT KEY KNOWN_HOSTS USER PORT...
 *       FANOUT worker threads; each takes the next pod, connects, checks the host key against KNOWN_HOSTS,
 *       authenticates with KEY, runs `true` on a channel, reads its exit status, disconnects.
 *   libssh_floor warm FANOUT KEY KNOWN_HOSTS USER PORT...
 *       connects every pod first (not timed), then times one `true` per pod on the kept sessions, FANOUT
 *       threads at a time, and prints that time in seconds: the floor for a warm run.
 *
 * Exit status 1 if any pod failed. Built by bench/fanout/run (cc -O2 ... -lssh -lpthread).
 */
#include <libssh/libssh.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int count;
static int *ports;
static ssh_session *sessions;
static const char *key_path, *known_hosts, *user;
static atomic_int next_index, failures;

static ssh_session connect_pod(int port) {
    ssh_session s = ssh_new();
    if (!s) return NULL;
    long timeout = 10;
    int process_config = 0;
    ssh_options_set(s, SSH_OPTIONS_HOST, "127.0.0.1");
    ssh_options_set(s, SSH_OPTIONS_PORT, &port);
    ssh_options_set(s, SSH_OPTIONS_USER, user);
    ssh_options_set(s, SSH_OPTIONS_TIMEOUT, &timeout);
    ssh_options_set(s, SSH_OPTIONS_PROCESS_CONFIG, &process_config);
    ssh_options_set(s, SSH_OPTIONS_KNOWNHOSTS, known_hosts);
    ssh_options_set(s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
    ssh_key key = NULL;
    if (ssh_connect(s) != SSH_OK || ssh_session_is_known_server(s) != SSH_KNOWN_HOSTS_OK ||
        ssh_pki_import_privkey_file(key_path, NULL, NULL, NULL, &key) != SSH_OK ||
        ssh_userauth_publickey(s, NULL, key) != SSH_AUTH_SUCCESS) {
        fprintf(stderr, "port %d: %s\n", port, ssh_get_error(s));
        ssh_key_free(key);
        ssh_disconnect(s);
        ssh_free(s);
        return NULL;
    }
    ssh_key_free(key);
    return s;
}

static int run_true(ssh_session s) {
    ssh_channel c = ssh_channel_new(s);
    if (!c) return -1;
    int status = -1;
    if (ssh_channel_open_session(c) == SSH_OK && ssh_channel_request_exec(c, "true") == SSH_OK) {
        char buffer[256];
        while (ssh_channel_read(c, buffer, sizeof buffer, 0) > 0) {}
        status = ssh_channel_get_exit_status(c);
    }
    ssh_channel_close(c);
    ssh_channel_free(c);
    return status;
}

static void *cold_worker(void *unused) {
    (void)unused;
    for (int i; (i = atomic_fetch_add(&next_index, 1)) < count;) {
        ssh_session s = connect_pod(ports[i]);
        if (!s || run_true(s) != 0) atomic_fetch_add(&failures, 1);
        if (s) { ssh_disconnect(s); ssh_free(s); }
    }
    return NULL;
}

static void *connect_worker(void *unused) {
    (void)unused;
    for (int i; (i = atomic_fetch_add(&next_index, 1)) < count;) {
        sessions[i] = connect_pod(ports[i]);
        if (!sessions[i]) atomic_fetch_add(&failures, 1);
    }
    return NULL;
}

static void *warm_worker(void *unused) {
    (void)unused;
    for (int i; (i = atomic_fetch_add(&next_index, 1)) < count;) {
        if (!sessions[i] || run_true(sessions[i]) != 0) atomic_fetch_add(&failures, 1);
    }
    return NULL;
}

static void run_pool(int width, void *(*worker)(void *)) {
    pthread_t threads[width];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    atomic_store(&next_index, 0);
    for (int t = 0; t < width; t++) pthread_create(&threads[t], &attr, worker, NULL);
    for (int t = 0; t < width; t++) pthread_join(threads[t], NULL);
}

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: %s cold|warm FANOUT KEY KNOWN_HOSTS USER PORT...\n", argv[0]);
        return 2;
    }
    int warm = strcmp(argv[1], "warm") == 0;
    int fanout = atoi(argv[2]);
    key_path = argv[3];
    known_hosts = argv[4];
    user = argv[5];
    count = argc - 6;
    ports = calloc(count, sizeof *ports);
    sessions = calloc(count, sizeof *sessions);
    for (int i = 0; i < count; i++) ports[i] = atoi(argv[6 + i]);
    int width = fanout < count ? fanout : count;
    ssh_init();
    if (!warm) {
        run_pool(width, cold_worker);
    } else {
        run_pool(width, connect_worker);
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        run_pool(width, warm_worker);
        clock_gettime(CLOCK_MONOTONIC, &end);
        printf("%.3f\n", (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
        for (int i = 0; i < count; i++) if (sessions[i]) { ssh_disconnect(sessions[i]); ssh_free(sessions[i]); }
    }
    ssh_finalize();
    if (failures > 0) fprintf(stderr, "%d pods failed\n", (int)failures);
    return failures > 0 ? 1 : 0;
}
