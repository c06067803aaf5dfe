// Process accounting from /proc (Linux): CPU time of a live process, CPU time
// of this process's reaped children, peak RSS. Elsewhere every function
// answers null and the report prints "n/a".
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let tick = null;
function clockTick() {
  if (tick === null) {
    try {
      tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      tick = 100;
    }
  }
  return tick;
}

// Fields after the command name, which is in parentheses and may hold spaces.
function statFields(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** utime + stime of a live process, in seconds. */
export function cpuSeconds(pid) {
  const f = statFields(pid);
  // utime, stime are fields 14 and 15 of stat(5); f[0] is field 3.
  return f === null ? null : (Number(f[11]) + Number(f[12])) / clockTick();
}

/**
 * CPU seconds of every child this process has waited for (cutime + cstime).
 * The difference across one child's life is that child's exact CPU time,
 * even for a program (wrk) that reports none itself.
 */
export function reapedChildrenCpuSeconds() {
  const f = statFields('self');
  return f === null ? null : (Number(f[13]) + Number(f[14])) / clockTick();
}

/** Peak resident set size (VmHWM) of a live process, in bytes. */
export function peakRss(pid) {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}
