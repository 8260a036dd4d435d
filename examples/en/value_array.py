# Value and Array: numbers in shared memory that every process sees.
#
# In the Processes tree: four children "adder-0" to "adder-3", each exits with code 0 (one
# that ends before the next start() is collected by that start(), which shows as "not
# joined" even though join() is called later). The program itself exits with code 0 only if
# the shared counter reached 4000 and each slot of the array holds its worker's square (exit
# code 1 otherwise): the run's exit code is shown on its node. (Values and Arrays are not
# nodes of the tree.)
# In the timeline: four short lanes side by side.
# Ends on its own in about a second.
import multiprocessing as mp
import sys


def add(counter, squares, index):
    for _ in range(1000):
        # += on a Value is a read then a write: without the lock, updates would be lost.
        with counter.get_lock():
            counter.value += 1
    squares[index] = index * index


if __name__ == "__main__":
    counter = mp.Value("i", 0)      # "i": a C int
    squares = mp.Array("i", 4)      # four C ints, all 0
    adders = [mp.Process(target=add, args=(counter, squares, i), name=f"adder-{i}") for i in range(4)]
    for p in adders:
        p.start()
    for p in adders:
        p.join()
    print("counter:", counter.value, "squares:", list(squares))
    sys.exit(0 if counter.value == 4000 and list(squares) == [0, 1, 4, 9] else 1)
