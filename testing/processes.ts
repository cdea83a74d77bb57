// Reads /proc to find a process's descendants, so tests can check that no
// ffprobe or ffmpeg child is left behind.
import { readdirSync, readFileSync } from 'node:fs'

interface ProcessInfo {
  pid: number
  ppid: number
  name: string
  state: string
}

function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The name is in parentheses and may contain spaces; the fields after it are fixed.
    const close = stat.lastIndexOf(')')
    const name = stat.slice(stat.indexOf('(') + 1, close)
    const [state, ppid] = stat.slice(close + 2).split(' ')
    return { pid, ppid: Number(ppid), name, state: state! }
  } catch {
    return undefined
  }
}

/** Every process whose ancestry leads to rootPid, zombies included. */
export function descendants(rootPid: number): ProcessInfo[] {
  const all = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((entry) => readProcess(Number(entry)))
    .filter((info): info is ProcessInfo => info !== undefined)
  const found: ProcessInfo[] = []
  const parents = new Set([rootPid])
  let grew = true
  while (grew) {
    grew = false
    for (const info of all) {
      if (parents.has(info.ppid) && !parents.has(info.pid)) {
        parents.add(info.pid)
        found.push(info)
        grew = true
      }
    }
  }
  return found
}

/** Descendants of rootPid whose command name is one of names. */
export function childrenNamed(rootPid: number, names: string[]): ProcessInfo[] {
  return descendants(rootPid).filter((info) => names.includes(info.name))
}
