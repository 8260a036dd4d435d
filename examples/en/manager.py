# Manager: a dict, a list and a queue that live in a server process and are shared by proxy.
#
# In the Processes tree: a helper process, the Manager's server (shown while
# "Show Helper Processes" is on), and two children "worker-0" and "worker-1" that write into
# the dict and the list and put into the queue; both exit with code 0 (worker-0 may be
# collected by worker-1's start() before its join(), see the value_array example). A
# Manager queue node shows the 2 items put and then the 2 taken by main. When the "with"
# block ends, the server process exits too.
# In the timeline: the server's lane spans the whole "with" block.
# Ends on its own in about a second.
import multiprocessing as mp


def work(index, shared_dict, shared_list, results):
    shared_dict[f"worker-{index}"] = index * 10
    shared_list.append(index)
    results.put(f"worker-{index} done")


if __name__ == "__main__":
    with mp.Manager() as manager:
        shared_dict = manager.dict()
        shared_list = manager.list()
        results = manager.Queue()
        workers = [mp.Process(target=work, args=(i, shared_dict, shared_list, results), name=f"worker-{i}") for i in range(2)]
        for p in workers:
            p.start()
        for p in workers:
            p.join()
        print("dict:", dict(shared_dict), "list:", sorted(shared_list))
        print(results.get(), "/", results.get())
