/* The shared-library part of prof_shares.c: about 10% of its CPU time. */
__attribute__((noinline)) double lib_work(long n)
{
    double x = 3;
    for (long i = 0; i < n; i++)
        x = x * 1.00000003 - (double)i * 1e-9;
    return x;
}
