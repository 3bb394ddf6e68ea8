"""A snippet forked from the warm interpreter behaves as `python -X dev 01.py` does: each case runs both ways, with
the same Python, and must print the same and exit the same."""

import re
import textwrap

import pytest

from jail_runs import empty_env, run, run_plainly, run_together

CASES = {
    "name, argv, file, globals": """
        import os, sys
        print(__name__, sys.argv, os.path.basename(__file__), os.path.exists(__file__), __doc__, __package__)
        print(sorted(globals()), sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
    """,
    "exit status": "import sys\nsys.exit(3)\n",
    "exit with a message": "import sys\nsys.exit('bye')\n",
    "exit zero from deep inside": "def f():\n    raise SystemExit\nf()\nprint('never')\n",
    "os._exit": "import os\nprint('flushed?', flush=True)\nos._exit(7)\n",
    "uncaught exception": "def f(x):\n    return 1 / x\nprint('before')\nf(0)\n",
    "syntax error": "print('never')\nif True\n    pass\n",
    "killed by a signal": "import os, signal\nprint('bye', flush=True)\nos.kill(os.getpid(), signal.SIGTERM)\n",
    "keyboard interrupt": "raise KeyboardInterrupt\n",
    "stdin is empty": "print(repr(input()))\n",
    "atexit and threads at exit": """
        import atexit, threading, time
        atexit.register(print, 'atexit ran')
        def late():
            time.sleep(0.2)
            print('thread finished')
        threading.Thread(target=late).start()
        print('main done')
    """,
    "unflushed output": "import sys\nsys.stdout.write('no newline')\n",
    "warnings go to stderr": "import warnings\nwarnings.warn('careful')\nprint('after')\n",
    "an unclosed file warns at exit": "f = open('data.txt', 'w')\nf.write('x')\nprint('written')\n",
    "asyncio debug and dev mode": """
        import asyncio, sys
        async def main():
            print(asyncio.get_running_loop().get_debug(), sys.flags.dev_mode)
        asyncio.run(main())
    """,
    # The warm interpreter ran asyncio once (warm/main.py): none of that run may show.
    "no event loop set, as in a fresh Python": """
        import asyncio, warnings
        warnings.simplefilter('ignore', DeprecationWarning)
        loop = asyncio.get_event_loop()
        print(type(loop).__name__, loop.is_closed(), loop.is_running())
        print(loop.run_until_complete(asyncio.sleep(0, 'ran')))
        loop.close()
    """,
    "asyncio's log reaches stderr": "import logging\nlogging.getLogger('asyncio').warning('careful: %s', 'this')\n",
    "descriptors are numbered from 3": """
        import os, socket
        r, w = os.pipe()
        with open('data.txt', 'w') as f, socket.socket() as s:
            print(r, w, f.fileno(), s.fileno())
    """,
    "event loops in threads leave no descriptor behind": """
        import asyncio, os, threading
        async def main():
            r, w = os.pipe()
            os.close(r), os.close(w)
            return r
        before = len(os.listdir('/proc/self/fd'))
        threads = [threading.Thread(target=asyncio.run, args=(main(),)) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(len(os.listdir('/proc/self/fd')) - before, asyncio.run(main()))
    """,
    "tasks are numbered from 1": """
        import asyncio
        async def child():
            return asyncio.current_task().get_name()
        async def main():
            print(asyncio.current_task().get_name(), await asyncio.create_task(child()))
        asyncio.run(main())
    """,
    "a loop policy of its own": """
        import asyncio
        class Policy(asyncio.DefaultEventLoopPolicy):
            pass
        print(type(asyncio.get_event_loop_policy()).__name__)
        asyncio.set_event_loop_policy(Policy())
        print(type(asyncio.get_event_loop_policy()).__name__)
        asyncio.run(asyncio.sleep(0))
    """,
    "a never-awaited coroutine": """
        import asyncio
        async def work():
            pass
        async def main():
            work()
        asyncio.run(main())
    """,
    "multiprocessing with functions from __main__": """
        from multiprocessing import Pool
        def square(x):
            return x * x
        if __name__ == '__main__':
            with Pool(2) as pool:
                print(pool.map(square, range(5)))
    """,
    "pickling a class from __main__": """
        import pickle
        class Point:
            def __init__(self, x):
                self.x = x
        print(pickle.loads(pickle.dumps(Point(3))).x)
    """,
    "inspect reads the source": "import inspect\ndef f():\n    return 42\nprint(inspect.getsource(f), end='')\n",
    "signal handlers as at start": """
        import signal
        print(signal.getsignal(signal.SIGINT) is signal.default_int_handler,
              signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN, signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL)
    """,
    "standard streams": "import sys\nprint(sys.stdout.isatty(), sys.stdin.isatty(), sys.stdout.encoding, sys.stdout.line_buffering)\n",
}


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return empty_env(tmp_path_factory.mktemp("site"))


def same_paths(text: str, python: str) -> str:
    """Tracebacks name the script by its folder, and the standard library by where Python is, which differ
    between the two runs (in the jail, Python is at /opt/python)."""
    text = text.replace(python, "<python>").replace("/opt/python", "<python>")
    return re.sub(r'(File |^)"?/[^"\s:]*/(01\.py|data\.txt)', r"\1\2", text, flags=re.M).replace('"01.py"', "01.py")


@pytest.mark.parametrize("code", [textwrap.dedent(c).lstrip() for c in CASES.values()], ids=list(CASES))
def test_a_forked_snippet_behaves_like_python_running_the_file(env, tmp_path, code):
    plain = run_plainly(env, code, tmp_path)
    forked = run(env, code)
    assert (forked.returncode, forked.stdout) == (plain.returncode, plain.stdout), forked.stderr
    assert same_paths(forked.stderr, str(env.base_prefix)) == same_paths(plain.stderr, str(env.base_prefix))


def test_threads_are_held_by_the_process_limit_not_by_their_stacks(env):
    """Each thread reserves an 8 MB stack, which the per-process memory limit counts as it is reserved: with
    room made for as many as the process limit allows, 200 threads start as in `python NN.py` (at 1024 MB
    they stopped at 125), and a memory hog is still stopped at the memory limit (test_jail)."""
    code = textwrap.dedent("""
        import threading, time
        threads = [threading.Thread(target=time.sleep, args=(0.5,)) for _ in range(200)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print(len(threads), 'threads ran')
    """)
    done = run(env, code, processes=256)
    assert (done.returncode, done.stdout) == (0, "200 threads ran\n"), done.stderr


def test_a_snippet_that_patches_a_module_does_not_change_the_next(env):
    patch = "import asyncio\nasyncio.sleep = None\nprint(asyncio.sleep)\n"
    use = "import asyncio\nasyncio.run(asyncio.sleep(0))\nprint('slept')\n"
    first, second = run_together(env, [patch, use])
    assert first.stdout == "None\n" and second.stdout == "slept\n", second.stderr


def test_each_snippet_gets_fresh_randomness(env):
    code = "import random, os\nprint(random.random(), os.urandom(4).hex())\n"
    first, second = run_together(env, [code, code])
    assert first.stdout != second.stdout
