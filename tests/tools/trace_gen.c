/* trace_gen: write a small, known .vittrace through the public tracing API,
 * for tests/scripts/test_inspect.sh and test_trace_consumers.sh.
 *
 *   trace_gen OUT.vittrace [ITERATIONS]     (default 50 iterations)
 *
 * Threads and what they record (counts are part of the tests' expectations):
 *   main       "main" span around everything; "setup" with one flow begin per
 *              worker (ids 1000 + w); "join" ending the async "job" spans the
 *              workers began; one span with a hostile run-time name
 *   worker-W   (4 threads) "start" receiving its flow; then per iteration i
 *              task (module work, args i and kind)
 *                parse               + instant "checkpoint" every 10th i
 *                compute (module math, tags "hot,simd")
 *                  kernel, kernel
 *              counter "progress" = i; async "job" (id W * 100000 + i)
 *              begun on every 10th i, ended by main
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <vitte/trace.h>

enum { WORKERS = 4 };

static int iterations = 50;

/* Work the compiler cannot remove, so spans have a real duration. */
static void spin(int units)
{
    volatile unsigned x = 1;
    for (int i = 0; i < units * 2000; i++)
        x = x * 1664525u + 1013904223u;
}

static void kernel(int w, int k)
{
    VITTE_TRACE_SCOPE("kernel");
    spin(1 + (w + k) % 3);
}

static void *worker(void *arg)
{
    int w = (int)(long)arg;
    char name[32];
    snprintf(name, sizeof name, "worker-%d", w);
    vitte_trace_set_thread_name(name);
    {
        VITTE_TRACE_SCOPE("start");
        vitte_trace_flow_end(1000u + (unsigned)w);
        spin(1);
    }
    for (int i = 0; i < iterations; i++) {
        VITTE_TRACE_SCOPE_M("task", "work");
        vitte_trace_arg_int("i", i);
        vitte_trace_arg_str("kind", i % 2 ? "odd" : "even");
        {
            VITTE_TRACE_SCOPE("parse");
            spin(2);
            if (i % 10 == 0) {
                VITTE_TRACE_INSTANT("checkpoint");
                vitte_trace_last_arg_int("i", i);
            }
        }
        {
            VITTE_TRACE_SCOPE_MT("compute", "math", "hot,simd");
            vitte_trace_arg_double("scale", 0.5 * i);
            kernel(w, 0);
            kernel(w, 1);
        }
        VITTE_TRACE_COUNTER("progress", i);
        if (i % 10 == 0)
            VITTE_TRACE_ASYNC_BEGIN("job", (uint64_t)w * 100000 + (uint64_t)i);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: trace_gen OUT.vittrace [ITERATIONS]\n");
        return 2;
    }
    if (argc == 3)
        iterations = atoi(argv[2]);
    vitte_tracer *t = vitte_tracer_create(argv[1]);
    if (t == NULL) {
        fprintf(stderr, "trace_gen: cannot trace to %s\n", argv[1]);
        return 1;
    }
    vitte_trace_set_process_name("trace_gen");
    vitte_trace_set_thread_name("main");
    pthread_t th[WORKERS];
    {
        VITTE_TRACE_SCOPE("main");
        {
            VITTE_TRACE_SCOPE("setup");
            for (int w = 0; w < WORKERS; w++)
                vitte_trace_flow_begin(1000u + (unsigned)w);
            spin(1);
        }
        for (int w = 0; w < WORKERS; w++)
            if (pthread_create(&th[w], NULL, worker, (void *)(long)w) != 0) {
                fprintf(stderr, "trace_gen: pthread_create failed\n");
                return 1;
            }
        {
            VITTE_TRACE_SCOPE("join");
            for (int w = 0; w < WORKERS; w++)
                pthread_join(th[w], NULL);
            for (int w = 0; w < WORKERS; w++)
                for (int i = 0; i < iterations; i += 10)
                    VITTE_TRACE_ASYNC_END("job", (uint64_t)w * 100000 + (uint64_t)i);
        }
        /* No ";": folded stacks cannot hold it (it becomes ":"), and the
         * consumer checks compare names across formats. */
        vitte_zone z = vitte_zone_begin_named("hostile \"name\" <&>, comma", "odd,module");
        spin(1);
        vitte_zone_end(z);
    }
    int rc = vitte_tracer_destroy(t);
    if (rc != VITTE_OK) {
        fprintf(stderr, "trace_gen: %s\n", vitte_strerror(rc));
        return 1;
    }
    return 0;
}
