/*
 * Plain C libzmq baseline for the lomad transport benchmark.
 *
 * The same exchange the Swift bench (Sources/) runs through the ZeroMQ module: a ROUTER echo
 * thread that sends every received message back unchanged (zmq_msg_send moves the frames, no
 * copy) and a DEALER client on the main thread that sends with zmq_msg_init_data (zero-copy)
 * and waits for each reply. Also measures memcpy bandwidth as the machine's own ceiling.
 *
 *   transport-c <ipc|tcp> <small_bytes> <small_round_trips> <large_bytes> <large_round_trips>
 *   transport-c memcpy <bytes> <repetitions>
 *   transport-c echo <endpoint>      (a standalone ROUTER echo process, until killed: the
 *                                     no-work peer daemon.sh compares lomad against)
 *
 * Prints one line of key=value pairs; run.sh turns them into the table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

/* CPU seconds used by the whole process (all threads, libzmq's included), user plus system. */
static double process_cpu_seconds(void)
{
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double) (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + (double) (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

static void die(const char *what)
{
    fprintf(stderr, "transport-c: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* Echo loop: runs until the context shuts down (ETERM), then closes its socket. */
static void *echo_thread(void *router)
{
    for (;;) {
        int more = 1;
        while (more) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, router, 0) < 0) {
                zmq_msg_close(&part);
                if (zmq_errno() == EINTR) continue;
                zmq_close(router);
                return NULL;
            }
            more = zmq_msg_more(&part);
            if (zmq_msg_send(&part, router, more ? ZMQ_SNDMORE : 0) < 0) {
                zmq_msg_close(&part);
                zmq_close(router);
                return NULL;
            }
        }
    }
}

static void no_release(void *data, void *hint)
{
    (void) data;
    (void) hint;
}

/* One round trip: a zero-copy request of `size` bytes from `buffer`, one reply received. */
static void round_trip(void *dealer, void *buffer, size_t size)
{
    zmq_msg_t request;
    if (zmq_msg_init_data(&request, buffer, size, no_release, NULL) != 0) die("zmq_msg_init_data");
    if (zmq_msg_send(&request, dealer, 0) < 0) die("zmq_msg_send");
    zmq_msg_t reply;
    zmq_msg_init(&reply);
    if (zmq_msg_recv(&reply, dealer, 0) < 0) die("zmq_msg_recv");
    if (zmq_msg_size(&reply) != size) {
        fprintf(stderr, "transport-c: reply of %zu bytes, expected %zu\n", zmq_msg_size(&reply), size);
        exit(1);
    }
    zmq_msg_close(&reply);
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile, the same definition as the Swift bench. */
static double percentile(const double *sorted, size_t count, double p)
{
    size_t rank = (size_t) (p * (double) count + 0.999999);
    if (rank < 1) rank = 1;
    return sorted[rank - 1];
}

static int run_memcpy(size_t size, int repetitions)
{
    char *source = malloc(size), *destination = malloc(size);
    if (!source || !destination) return 1;
    memset(source, 1, size);
    memset(destination, 2, size);
    memcpy(destination, source, size); /* warm up, fault pages in */
    double start = now_seconds();
    for (int i = 0; i < repetitions; i++) {
        source[i % size] = (char) i; /* keep the copies from being merged */
        memcpy(destination, source, size);
    }
    double elapsed = now_seconds() - start;
    printf("impl=memcpy bytes=%zu gbps=%.3f check=%d\n", size,
           (double) size * repetitions / elapsed / 1e9, destination[size / 2]);
    free(source);
    free(destination);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "memcpy") == 0)
        return run_memcpy((size_t) strtoull(argv[2], NULL, 10), atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "echo") == 0) {
        void *context = zmq_ctx_new();
        void *router = zmq_socket(context, ZMQ_ROUTER);
        if (zmq_bind(router, argv[2]) != 0) die("zmq_bind");
        echo_thread(router);
        return 0;
    }
    if (argc != 6) {
        fprintf(stderr, "usage: %s <ipc|tcp> <small_bytes> <small_round_trips> <large_bytes> <large_round_trips>\n"
                        "       %s memcpy <bytes> <repetitions>\n"
                        "       %s echo <endpoint>\n", argv[0], argv[0], argv[0]);
        return 2;
    }
    const char *transport = argv[1];
    size_t small_size = (size_t) strtoull(argv[2], NULL, 10);
    int small_trips = atoi(argv[3]);
    size_t large_size = (size_t) strtoull(argv[4], NULL, 10);
    int large_trips = atoi(argv[5]);

    void *context = zmq_ctx_new();
    void *router = zmq_socket(context, ZMQ_ROUTER);
    void *dealer = zmq_socket(context, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(dealer, ZMQ_LINGER, &linger, sizeof linger);

    char endpoint[256];
    if (strcmp(transport, "ipc") == 0)
        snprintf(endpoint, sizeof endpoint, "ipc:///tmp/lomad-bench-c-%d.ipc", (int) getpid());
    else
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:*");
    if (zmq_bind(router, endpoint) != 0) die("zmq_bind");
    size_t endpoint_size = sizeof endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size);
    if (zmq_connect(dealer, endpoint) != 0) die("zmq_connect");

    pthread_t echo;
    pthread_create(&echo, NULL, echo_thread, router);

    char *small = malloc(small_size ? small_size : 1);
    char *large = malloc(large_size);
    memset(small, 7, small_size);
    memset(large, 9, large_size);

    int warmup = small_trips / 10 + 1;
    for (int i = 0; i < warmup; i++) round_trip(dealer, small, small_size);
    double *latencies = malloc(sizeof(double) * (size_t) small_trips);
    double cpu_start = process_cpu_seconds();
    for (int i = 0; i < small_trips; i++) {
        double start = now_seconds();
        round_trip(dealer, small, small_size);
        latencies[i] = (now_seconds() - start) * 1e6;
    }
    double cpu_per_trip_us = (process_cpu_seconds() - cpu_start) / small_trips * 1e6;
    qsort(latencies, (size_t) small_trips, sizeof(double), compare_doubles);

    round_trip(dealer, large, large_size); /* warm up */
    double start = now_seconds();
    for (int i = 0; i < large_trips; i++) round_trip(dealer, large, large_size);
    double elapsed = now_seconds() - start;

    printf("impl=c transport=%s small_p50_us=%.2f small_p99_us=%.2f small_cpu_us=%.2f large_gbps=%.3f\n",
           transport, percentile(latencies, (size_t) small_trips, 0.50),
           percentile(latencies, (size_t) small_trips, 0.99), cpu_per_trip_us,
           2.0 * (double) large_size * large_trips / elapsed / 1e9);

    zmq_close(dealer);
    zmq_ctx_shutdown(context); /* the echo thread sees ETERM and closes the ROUTER */
    pthread_join(echo, NULL);
    zmq_ctx_term(context);
    if (strcmp(transport, "ipc") == 0) unlink(endpoint + strlen("ipc://")); /* libzmq 4.3 leaves it behind */
    free(latencies);
    free(small);
    free(large);
    return 0;
}
