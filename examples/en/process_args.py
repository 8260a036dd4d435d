# Process with args and kwargs: two children run the same function with different arguments.
#
# In the Processes tree: MainProcess with two children, "greeter-ada" and "greeter-lin",
# each with its own pid and "target: greet" in its tooltip. Both end with exit code 0 and
# their tooltips say "Joined: yes": the main process waited for them with join().
# In the timeline: two lanes side by side; greeter-lin's is longer (it greets three times).
# Ends on its own in about two seconds.
import multiprocessing as mp
import os
import time


def greet(greeting, name, times=1):
    for _ in range(times):
        print(f"{greeting}, {name}! (pid {os.getpid()}, parent {os.getppid()})", flush=True)
        time.sleep(0.5)


if __name__ == "__main__":
    # args is a tuple (note the comma in a one-item tuple); kwargs is a dict of keyword arguments.
    ada = mp.Process(target=greet, args=("Hello", "Ada"), name="greeter-ada")
    lin = mp.Process(target=greet, args=("Hi", "Lin"), kwargs={"times": 3}, name="greeter-lin")
    ada.start()
    lin.start()
    # start() returns at once: main goes on while the children run.
    print(f"main (pid {os.getpid()}) started {ada.name} and {lin.name}", flush=True)
    ada.join()
    lin.join()
    print("main: both greeters are done")
