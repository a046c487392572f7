/* profile_demo: an ordinary program that knows nothing of vitte, to profile
 * with `vitte run --profile -- profile_demo` (scripts/run-example.sh does).
 *
 * Two threads each generate text, count its words in a hash table, sort the
 * counts with qsort (a libc function that calls back into the program: its
 * stacks cross glibc, which has no frame pointers), and checksum the result.
 * Built like most code, -O2 without frame pointers: DWARF unwinding is what
 * gives complete stacks here.
 *
 *   profile_demo [ROUNDS]      (default 20) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORDS   200000
#define BUCKETS 65536

struct entry {
    char word[16];
    uint32_t count;
    struct entry *next;
};

struct table {
    struct entry *bucket[BUCKETS];
    struct entry *pool;
    size_t used, cap;
};

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Text with a Zipf-like word distribution. */
static char *generate_text(uint64_t seed, size_t *len)
{
    static const char syll[][4] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa"};
    char *text = malloc((size_t)WORDS * 12);
    size_t n = 0;
    for (int w = 0; w < WORDS; w++) {
        uint64_t r = next_random(&seed);
        int syllables = 1 + (int)(r % 4);
        uint64_t v = (r >> 8) % (1 + (r >> 40) % 3000);
        for (int k = 0; k < syllables; k++) {
            memcpy(text + n, syll[v % 10], 2);
            n += 2;
            v /= 10;
        }
        text[n++] = ' ';
    }
    *len = n;
    return text;
}

static uint32_t hash_word(const char *w, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)w[i]) * 16777619u;
    return h;
}

static void count_word(struct table *t, const char *w, size_t n)
{
    if (n >= sizeof t->pool->word)
        n = sizeof t->pool->word - 1;
    uint32_t h = hash_word(w, n) & (BUCKETS - 1);
    for (struct entry *e = t->bucket[h]; e != NULL; e = e->next)
        if (strncmp(e->word, w, n) == 0 && e->word[n] == '\0') {
            e->count++;
            return;
        }
    if (t->used == t->cap) {
        fprintf(stderr, "profile_demo: table full\n");
        exit(1);
    }
    struct entry *e = &t->pool[t->used++];
    memcpy(e->word, w, n);
    e->word[n] = '\0';
    e->count = 1;
    e->next = t->bucket[h];
    t->bucket[h] = e;
}

static void count_words(struct table *t, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != ' ')
            j++;
        if (j > i)
            count_word(t, text + i, j - i);
        i = j + 1;
    }
}

static int by_count(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return strcmp(x->word, y->word);
}

static uint64_t checksum(struct entry **v, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31 + hash_word(v[i]->word, strlen(v[i]->word)) + v[i]->count;
    return s;
}

static void *worker(void *arg)
{
    int rounds = *(int *)arg;
    uint64_t total = 0;
    for (int r = 0; r < rounds; r++) {
        size_t len;
        char *text = generate_text(0x9e3779b97f4a7c15ull + (uint64_t)r, &len);
        struct table *t = calloc(1, sizeof *t);
        t->cap = WORDS;
        t->pool = calloc(t->cap, sizeof *t->pool);
        for (int pass = 0; pass < 4; pass++)
            count_words(t, text, len);
        struct entry **v = malloc(t->used * sizeof *v);
        for (size_t i = 0; i < t->used; i++)
            v[i] = &t->pool[i];
        for (int pass = 0; pass < 6; pass++) {
            qsort(v, t->used, sizeof *v, by_count);
            total += checksum(v, t->used);
        }
        free(v);
        free(t->pool);
        free(t);
        free(text);
    }
    return (void *)(uintptr_t)total;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    pthread_t th;
    pthread_create(&th, NULL, worker, &rounds);
    void *mine = worker(&rounds);
    void *theirs;
    pthread_join(th, &theirs);
    printf("profile_demo: %d rounds in 2 threads, checksums %016llx %016llx\n", rounds,
           (unsigned long long)(uintptr_t)mine, (unsigned long long)(uintptr_t)theirs);
    return 0;
}
