/* Quantiles of metric histograms, interpolated within the bucket. */
#include <math.h>

#include <vitte/metrics.h>
#include <vitte/stats.h>

double vitte_stats_histogram_quantile(const vitte_histogram_snapshot *s, double q)
{
    if (s == NULL || !(q >= 0.0 && q <= 1.0))
        return NAN;
    const uint64_t count = vitte_histogram_snapshot_count(s);
    if (count == 0)
        return NAN;
    const double mn = vitte_histogram_snapshot_min(s);
    const double mx = vitte_histogram_snapshot_max(s);
    const double rank = q * (double)count;
    vitte_histogram_iter it;
    vitte_histogram_bucket b;
    vitte_histogram_iter_init(&it, s);
    double below = 0.0;
    while (vitte_histogram_iter_next(&it, &b)) {
        const double c = (double)b.count;
        if (c > 0.0 && below + c >= rank) {
            /* the bucket's range, clipped to the exact extremes */
            const double lo = b.lower > mn ? b.lower : mn;
            const double hi = b.upper < mx ? b.upper : mx;
            if (!(hi > lo))
                return lo;
            const double v = lo + (hi - lo) * ((rank - below) / c);
            return v < lo ? lo : (v > hi ? hi : v);
        }
        below += c;
    }
    return mx;
}
