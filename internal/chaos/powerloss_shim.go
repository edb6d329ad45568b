package chaos

// fsyncShimC is the C source of the LD_PRELOAD library BuildFsyncShim
// compiles. It wraps fsync and fdatasync (Redis 7 fsyncs its AOF with
// fdatasync on Linux: redis_fsync in config.h; with appendfsync everysec
// from its bio thread, with always from the main thread before it replies).
// Before passing the call on it reads the file's size; when the call
// succeeds and the file's name ends in ".aof" (the multi-part AOF's
// appendonlydir/*.incr.aof, or a single-file AOF) it appends
// "<size> <path> <unix ns>\n" to the file named by MUTT_FSYNC_LOG, the time
// being when the call began. The size is taken
// before the call: a write that races with the fsync may or may not be on
// the disk after a crash, and the shim counts it as not (the worst case).
// errno is kept as the real call left it. The log's name is copied at load:
// redis-server's setproctitle overwrites the memory environ points into.
const fsyncShimC = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static const char *log_path;

__attribute__((constructor)) static void mutt_shim_init(void) {
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	/* A copy: redis-server's setproctitle reuses the memory of environ. */
	const char *p = getenv("MUTT_FSYNC_LOG");
	if (p != NULL) log_path = strdup(p);
}

static long long size_of(int fd) {
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
	return (long long)st.st_size;
}

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void record(int fd, long long size, long long at) {
	char link[64], path[4096], line[4200];
	ssize_t n;
	size_t len;
	int m, out;
	if (log_path == NULL || size < 0) return;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof path - 1);
	if (n <= 0) return;
	path[n] = 0;
	len = (size_t)n;
	if (len < 4 || strcmp(path + len - 4, ".aof") != 0) return;
	m = snprintf(line, sizeof line, "%lld %s %lld\n", size, path, at);
	if (m <= 0 || (size_t)m >= sizeof line) return;
	out = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (out < 0) return;
	if (write(out, line, (size_t)m) != m) { /* a short record is skipped by the reader */ }
	close(out);
}

int fsync(int fd) {
	long long size = size_of(fd), at = now_ns();
	int r = real_fsync(fd);
	if (r == 0) { int e = errno; record(fd, size, at); errno = e; }
	return r;
}

int fdatasync(int fd) {
	long long size = size_of(fd), at = now_ns();
	int r = real_fdatasync(fd);
	if (r == 0) { int e = errno; record(fd, size, at); errno = e; }
	return r;
}
`
