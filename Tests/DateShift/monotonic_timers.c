/*
 * Preloaded before libfaketime when Tests/run moves the date (MUSTER_TEST_DATE_SHIFT).
 *
 * libfaketime 0.9.10 moves absolute deadlines on the monotonic clock too, even with
 * FAKETIME_DONT_FAKE_MONOTONIC=1. libdispatch arms its timers (asyncAfter, timer sources) on
 * monotonic timerfds with absolute deadlines, so under a moved date they fire a year late, or
 * never; Python's time.sleep (clock_nanosleep on the monotonic clock, absolute) fails with
 * EINVAL. This file leaves timerfds and sleeps on the monotonic and boot clocks alone and hands
 * those on the realtime clock to libfaketime, which moves them with the date.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

enum { tracked_descriptors = 1 << 16 };
/* 1 + the clock id each timerfd was created on; 0 for a descriptor not created here. */
static unsigned char clock_of[tracked_descriptors];

int timerfd_create(int clockid, int flags) {
    int fd = (int)syscall(SYS_timerfd_create, clockid, flags);
    if (fd >= 0 && fd < tracked_descriptors) clock_of[fd] = (unsigned char)(clockid + 1);
    return fd;
}

static int is_realtime(int clockid) {
    return clockid == CLOCK_REALTIME || clockid == CLOCK_REALTIME_ALARM;
}

static int follows_the_date(int fd) {
    /* A descriptor of unknown clock is left to libfaketime, as without this file. */
    if (fd < 0 || fd >= tracked_descriptors || clock_of[fd] == 0) return 1;
    return is_realtime(clock_of[fd] - 1);
}

int timerfd_settime(int fd, int flags, const struct itimerspec *new_value, struct itimerspec *old_value) {
    if (follows_the_date(fd)) {
        int (*moved)(int, int, const struct itimerspec *, struct itimerspec *) = dlsym(RTLD_NEXT, "timerfd_settime");
        if (moved) return moved(fd, flags, new_value, old_value);
    }
    return (int)syscall(SYS_timerfd_settime, fd, flags, new_value, old_value);
}

int timerfd_gettime(int fd, struct itimerspec *curr_value) {
    if (follows_the_date(fd)) {
        int (*moved)(int, struct itimerspec *) = dlsym(RTLD_NEXT, "timerfd_gettime");
        if (moved) return moved(fd, curr_value);
    }
    return (int)syscall(SYS_timerfd_gettime, fd, curr_value);
}

int clock_nanosleep(clockid_t clockid, int flags, const struct timespec *request, struct timespec *remain) {
    if (is_realtime(clockid)) {
        int (*moved)(clockid_t, int, const struct timespec *, struct timespec *) = dlsym(RTLD_NEXT, "clock_nanosleep");
        if (moved) return moved(clockid, flags, request, remain);
    }
    /* clock_nanosleep returns the error number; the raw system call sets errno. */
    return syscall(SYS_clock_nanosleep, clockid, flags, request, remain) == 0 ? 0 : errno;
}
