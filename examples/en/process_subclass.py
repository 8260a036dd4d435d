# A subclass of Process that overrides run(): start() runs run() in the new process.
#
# In the Processes tree: two children named "countdown-3" and "countdown-2" (the names set
# in __init__), with no target (the work is run() itself). Both end with exit code 0 and are
# joined.
# In the timeline: countdown-3's lane is longer than countdown-2's.
# Ends on its own in about two seconds.
import multiprocessing as mp
import time


class Countdown(mp.Process):
    def __init__(self, start_at):
        # Call Process.__init__ first: it sets up what start() needs.
        super().__init__(name=f"countdown-{start_at}")
        self.start_at = start_at

    def run(self):
        # This runs in the child; self.start_at was copied there with the object.
        for n in range(self.start_at, 0, -1):
            print(f"{self.name}: {n}", flush=True)
            time.sleep(0.4)


if __name__ == "__main__":
    workers = [Countdown(3), Countdown(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print("main: liftoff")
