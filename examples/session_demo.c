/* session_demo: a performance session around a small simulation.
 *
 *   session_demo [DIR]        (default: ./performance_reports)
 *
 * Starts a session "session_demo" under DIR with system metrics, times a
 * setup step and 60 "frames" (each with nested physics and render steps),
 * records the frame rate in a series, saves a report mid-way, and stops the
 * session, which writes DIR/session_demo/report.json, report.md,
 * flamegraph.svg and trace.vittrace.  Prints where the files are and the
 * frame statistics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vitte/vitte.h>
#include <vitte/session.h>

static double checksum;

/* Some floating-point work proportional to units (a partial harmonic sum). */
static void burn(int units)
{
    double x = 0;
    for (int i = 1; i <= units * 40000; i++)
        x += 1.0 / (double)i;
    checksum += x;
}

static void load_level(void)
{
    burn(400);
}

static int check(int rc, const char *what)
{
    if (rc != VITTE_OK)
        fprintf(stderr, "session_demo: %s: %s\n", what, vitte_strerror(rc));
    return rc;
}

static void physics(vitte_session *s, int frame)
{
    vitte_session_start_timing(s, "physics");
    burn(20 + frame % 7);
    vitte_session_stop_timing(s, "physics", NULL);
}

static void render(vitte_session *s, int frame)
{
    vitte_session_start_timing(s, "render");
    vitte_session_start_timing(s, "shadows");
    burn(10 + (frame % 10 == 0 ? 40 : 0)); /* a spike every tenth frame */
    vitte_session_stop_timing(s, "shadows", NULL);
    burn(15);
    vitte_session_stop_timing(s, "render", NULL);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "./performance_reports";
    vitte_manager *mgr = NULL;
    if (check(vitte_manager_create_ex(dir, &mgr), dir) != VITTE_OK)
        return 1;
    vitte_session *s = NULL;
    if (check(vitte_manager_start_session_ex(mgr, "session_demo", &s), "start session") !=
        VITTE_OK) {
        vitte_manager_destroy(mgr);
        return 1;
    }
    check(vitte_session_start_system_metrics(s), "system metrics"); /* not fatal */

    /* The seed's example: time one function. */
    vitte_session_start_timing(s, "load_level");
    load_level();
    uint64_t ns = 0;
    check(vitte_session_stop_timing(s, "load_level", &ns), "stop timing");
    printf("load_level took %.2f ms\n", (double)ns / 1e6);

    vitte_series *fps = vitte_series_create("fps", VITTE_METRIC_THROUGHPUT, "fps", 100);
    if (fps != NULL && check(vitte_session_add_series(s, fps), "add series") != VITTE_OK) {
        vitte_series_destroy(fps);
        fps = NULL;
    }

    for (int frame = 0; frame < 60; frame++) {
        vitte_session_start_timing(s, "frame");
        physics(s, frame);
        render(s, frame);
        uint64_t frame_ns = 0;
        vitte_session_stop_timing(s, "frame", &frame_ns);
        if (fps != NULL && frame_ns > 0)
            vitte_series_set(fps, 1e9 / (double)frame_ns);
    }

    /* A report and a flame graph of the session so far, anywhere. */
    char path[4096];
    snprintf(path, sizeof path, "%s/session_demo/midway.json", dir);
    check(vitte_session_save_report(s, path, VITTE_REPORT_JSON), path);
    snprintf(path, sizeof path, "%s/session_demo/midway.svg", dir);
    check(vitte_session_generate_flamegraph(s, path), path);

    vitte_timing_stats st;
    if (vitte_session_timing_stats(s, "frame", &st) == VITTE_OK)
        printf("frames: %llu, mean %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
               (unsigned long long)st.count, st.mean_ns / 1e6, st.p50_ns / 1e6, st.p99_ns / 1e6,
               (double)st.max_ns / 1e6);

    char where[4096];
    snprintf(where, sizeof where, "%s", vitte_session_directory(s));
    int rc = check(vitte_manager_stop_session(mgr), "stop session"); /* writes the files */
    vitte_manager_destroy(mgr);
    if (rc != VITTE_OK)
        return 1;
    printf("wrote %s/report.json, report.md, flamegraph.svg, trace.vittrace (checksum %.3g)\n",
           where, checksum);
    return 0;
}
