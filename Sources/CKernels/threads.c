// Thread placement for the MPC engine's party threads (see RingArithmetic/ThreadPlacement.swift).
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include "ckernels.h"

int pl_pin_current_thread(int index) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    int count = CPU_COUNT(&allowed);
    if (count < 2 || index < 0) return -1;
    int target = index % count, seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (seen++ == target) {
            cpu_set_t mine;
            CPU_ZERO(&mine);
            CPU_SET(cpu, &mine);
            return pthread_setaffinity_np(pthread_self(), sizeof mine, &mine) == 0 ? cpu : -1;
        }
    }
    return -1;
}
