/* trace_demo: a small parallel "build", traced.
 *
 *   trace_demo [OUT.vittrace]      (default: trace_demo.vittrace)
 *
 * A scheduler thread hands compile jobs to four workers through a queue.
 * Each job is an async span from "queued" to "done" (it begins on the
 * scheduler and ends on a worker), linked by a flow; inside, workers run
 * nested spans (parse, optimize, codegen) with arguments, and the queue
 * depth is a counter.  Without an argument it also honours VITTE_TRACE.
 * Convert the result with:  vitte inspect OUT.vittrace --format chrome -o trace.json
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <vitte/vitte.h>

enum { WORKERS = 4, JOBS = 240 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int queue[JOBS], head, tail, closed;

static double burn(int units)
{
    volatile double x = 0;
    for (int i = 0; i < units * 10000; i++)
        x += sqrt((double)i);
    return x;
}

static void parse(int job)
{
    VITTE_TRACE_SCOPE_M("parse", "frontend");
    vitte_trace_arg_int("job", job);
    burn(3 + job % 5);
}

static void optimize(int job)
{
    VITTE_TRACE_SCOPE_M("optimize", "middle");
    for (int pass = 0; pass < 3; pass++) {
        VITTE_TRACE_SCOPE_M("pass", "middle");
        burn(2 + (job + pass) % 4);
    }
}

static void codegen(int job)
{
    VITTE_TRACE_SCOPE_M("codegen", "backend");
    burn(4 + job % 3);
    if (job % 40 == 0) {
        VITTE_TRACE_INSTANT("large_object");
        vitte_trace_last_arg_str("file", "big.o");
    }
}

static void *worker(void *arg)
{
    char name[32];
    snprintf(name, sizeof name, "worker-%d", (int)(long)arg);
    vitte_trace_set_thread_name(name);
    for (;;) {
        pthread_mutex_lock(&lock);
        while (head == tail && !closed)
            pthread_cond_wait(&cond, &lock);
        if (head == tail) {
            pthread_mutex_unlock(&lock);
            break;
        }
        int job = queue[head++];
        VITTE_TRACE_COUNTER("queue_depth", tail - head);
        pthread_mutex_unlock(&lock);
        {
            VITTE_TRACE_SCOPE_M("compile", "build");
            vitte_trace_flow_end((uint64_t)job);
            parse(job);
            optimize(job);
            codegen(job);
        }
        VITTE_TRACE_ASYNC_END("job", (uint64_t)job);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    vitte_tracer *t = NULL;
    if (argc > 1) {
        t = vitte_tracer_create(argv[1]);
    } else if (vitte_tracer_active() == NULL) {
        t = vitte_tracer_create("trace_demo.vittrace");
    }
    if (t == NULL && vitte_tracer_active() == NULL) {
        fprintf(stderr, "trace_demo: cannot start tracing to %s\n",
                argc > 1 ? argv[1] : "trace_demo.vittrace");
        return 1;
    }
    vitte_trace_set_thread_name("scheduler");
    pthread_t th[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&th[i], NULL, worker, (void *)i);
    {
        VITTE_TRACE_SCOPE_M("schedule", "build");
        for (int job = 0; job < JOBS; job++) {
            VITTE_TRACE_SCOPE_M("enqueue", "build");
            VITTE_TRACE_ASYNC_BEGIN("job", (uint64_t)job);
            vitte_trace_flow_begin((uint64_t)job);
            pthread_mutex_lock(&lock);
            queue[tail++] = job;
            VITTE_TRACE_COUNTER("queue_depth", tail - head);
            pthread_cond_signal(&cond);
            pthread_mutex_unlock(&lock);
            burn(1);
        }
        pthread_mutex_lock(&lock);
        closed = 1;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    for (int i = 0; i < WORKERS; i++)
        pthread_join(th[i], NULL);
    vitte_tracer_stats st;
    if (t != NULL && vitte_tracer_get_stats(t, &st) == VITTE_OK)
        printf("trace_demo: %d jobs on %d workers traced\n", JOBS, WORKERS);
    int rc = t != NULL ? vitte_tracer_destroy(t) : VITTE_OK;
    if (rc != VITTE_OK) {
        fprintf(stderr, "trace_demo: writing the trace failed: %s\n", vitte_strerror(rc));
        return 1;
    }
    return 0;
}
