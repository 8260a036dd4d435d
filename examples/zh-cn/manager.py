# Manager：字典、列表和队列放在一个服务进程里，通过代理共享。
#
# 进程树里：一个辅助进程，即 Manager 的服务进程（"Show Helper Processes" 打开时显示），
# 以及两个子进程 "worker-0" 和 "worker-1"，它们写入字典和列表、向队列 put；两个都以
# 退出码 0 结束（worker-0 可能在 join() 之前就被 worker-1 的 start() 回收，见 value_array 示例）。一个 Manager 队列节点显示 put 进去的 2 项，以及随后被主进程
# 取走的 2 项。"with" 块结束时，服务进程也随之退出。
# 时间线里：服务进程的泳道覆盖整个 "with" 块。
# 约一秒后自行结束。
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
