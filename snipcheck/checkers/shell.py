"""Shell scripts and transcripts are syntax-checked (`bash -n`, `zsh -n`), never run: a shell example usually acts on
the author's machine. A transcript's commands are its lines after a prompt; a transcript with no prompt has no
commands, so nothing is said to be verified."""

import asyncio
import re
import subprocess

from .. import languages, transcripts
from ..plan import Job
from ..result import FAILED, UNVERIFIED, VERIFIED, Result


async def check(job: Job) -> Result:
    shell = languages.shell_of(job.snippet.lang) if job.kind == "shell" else "bash"
    code, to_block = job.snippet.code, (lambda line: line)
    if job.kind == "console":
        script = transcripts.console(code)
        if script is None:
            return Result(UNVERIFIED, "", "a shell transcript with no prompt (`$ `): no command to check")
        code, to_block = script.text, script.block_line
    command = languages.shell_checker(shell)
    if command is None:
        return Result(UNVERIFIED, "", f"no {shell} checker: {shell} is not installed")
    # In a thread, not as an asyncio subprocess: `bash -n` takes milliseconds, and a thread needs no child
    # watcher (which a cancelled run can leave waiting forever).
    process = await asyncio.get_running_loop().run_in_executor(None, lambda: subprocess.run(
        command, input=code.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=job.timeout))
    if process.returncode != 0:
        text = process.stderr.decode("utf-8", "replace").strip()
        line = re.search(r"line (\d+):", text)
        message = re.sub(r"^[\w/.-]+: (line \d+: )?", "", text.splitlines()[0] if text else "")
        return Result(FAILED, f"{shell} -n", f"shell syntax error: {message}",
                      to_block(int(line.group(1))) if line else None)
    return Result(VERIFIED, f"{shell} -n (syntax only, not run)")
