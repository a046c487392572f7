/* The smallest use of vitte: time some work, put the timing in a registry,
 * print the registry as JSON.
 *
 *   cc timer_basic.c $(pkg-config --cflags --libs vitte) -o timer_basic
 */
#include <stdio.h>
#include <stdlib.h>

#include <vitte/vitte.h>

/* Work the compiler cannot remove: its result is printed. */
static double work(void)
{
    double x = 0;
    for (int i = 1; i <= 2000000; i++)
        x += 1.0 / ((double)i * i);
    return x;
}

int main(void)
{
    vitte_timer t = vitte_timer_start("calcul_intensif");
    double result = work();
    uint64_t ns = vitte_timer_stop(&t); /* elapsed nanoseconds */

    vitte_metrics *m = vitte_metrics_create();
    if (m == NULL)
        return 1;
    if (vitte_metrics_insert_timer(m, &t) != VITTE_OK) { /* feeds the histogram named after it */
        vitte_metrics_destroy(m);
        return 1;
    }
    char *json = vitte_metrics_to_json(m); /* caller frees with free() */
    vitte_metrics_destroy(m);
    if (json == NULL)
        return 1;

    printf("calcul_intensif: result %.6f in %llu ns\n", result, (unsigned long long)ns);
    printf("%s\n", json);
    free(json);
    return 0;
}
