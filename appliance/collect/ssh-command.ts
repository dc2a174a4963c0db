/**
 * The exec line the ssh transport sends, and what it writes to the channel's stdin (see ssh.ts's header).
 * SSH's exec request carries one string the remote login shell parses, so only fixed text and quoted words
 * go into it; scripts travel on stdin. Pure: no I/O.
 */

import type { Command } from "./transport.ts";

/** POSIX single-quoting: the word reaches the program exactly as given, whatever it contains. */
export function quoteShellWord(word: string): string {
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The fixed remote wrappers (see ssh.ts's header). fd 3 keeps the channel's stdin for the watcher; the command
 * itself reads /dev/null (a program) or the script's pipe (`sh -s`). `kill -KILL 0` ends the whole process
 * group, watcher included. No single quote appears in them, so they quote as one word.
 */
const WATCHER = "exec 3<&0 </dev/null; (cat <&3 >/dev/null 2>&1; kill -KILL 0) >/dev/null 2>&1 &";
const PROGRAM_WRAPPER = `${WATCHER}\n"$@" 3<&-`;
const SCRIPT_WRAPPER = `s=$(head -c "$1"; echo .); s=\${s%.}\n${WATCHER}\nprintf %s "$s" | sh -s 3<&-`;

/** The exec line and the bytes to write to the channel's stdin for a command. */
export function remoteCommandLine(cmd: Command): [line: string, stdin: string | undefined] {
  if ("program" in cmd) {
    return [["sh", "-c", PROGRAM_WRAPPER, "osiris", cmd.program, ...cmd.args].map(quoteShellWord).join(" "), undefined];
  }
  const bytes = new TextEncoder().encode(cmd.script).byteLength;
  return [["sh", "-c", SCRIPT_WRAPPER, "osiris", String(bytes)].map(quoteShellWord).join(" "), cmd.script];
}
