# Pitfall: no 'if __name__ == "__main__":' guard, under the spawn start method.
#
# A spawn child (the default on Windows and macOS) imports this file again. Without the
# guard it reaches p.start() itself and dies with "An attempt has been made to start a new
# process before the current process has finished its bootstrapping phase".
# In the Processes tree: the child "greeter" ends with exit code 1, and gets a "!" hint,
# missing-main-guard; its error is in the terminal. Main itself carries on and exits.
# Fix: put everything that starts processes, pools or queues under
# 'if __name__ == "__main__":', with only definitions at the top level.
# In the timeline: greeter's lane is short, and ends in failure.
# Ends on its own in about a second.
import multiprocessing as mp


def hello():
    print("hello from the child")


ctx = mp.get_context("spawn")
p = ctx.Process(target=hello, name="greeter")
p.start()
p.join()
