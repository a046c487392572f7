/* Replays a fuzz corpus without libFuzzer: runs LLVMFuzzerTestOneInput over
 * every file of the directory given, so ctest checks the seeds and the
 * crash reproducers on any compiler.  Fails if the directory is missing or
 * holds no inputs. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -1;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        unsigned char *b = realloc(buf, cap * 2);
        if (b == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    int bad = ferror(fp) || buf == NULL;
    fclose(fp);
    if (!bad)
        LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    struct dirent **names;
    int n = scandir(argv[1], &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "%s: cannot read directory %s\n", argv[0], argv[1]);
        return 1;
    }
    size_t done = 0;
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        if (names[i]->d_name[0] != '.' &&
            snprintf(path, sizeof path, "%s/%s", argv[1], names[i]->d_name) < (int)sizeof path &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(path) != 0) {
                fprintf(stderr, "%s: cannot read %s\n", argv[0], path);
                failed = 1;
            }
            done++;
        }
        free(names[i]);
    }
    free(names);
    if (done == 0) {
        fprintf(stderr, "%s: no inputs in %s\n", argv[0], argv[1]);
        return 1;
    }
    printf("replayed %zu inputs from %s\n", done, argv[1]);
    return failed;
}
