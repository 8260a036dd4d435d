# 管道 Pipe：两个相连的端点；一端发送的，另一端接收。
#
# 进程树里：一个子进程 "echo"，它把每条消息转成大写发回，收到 None 时以退出码 0 退出；
# 它被 join。（管道不是进程树里的节点：mptree 显示进程、队列和进程池。子进程提示里的
# pid 就是它打印出来的那个。）
# 时间线里：echo 的泳道和这段对话一样长。
# 约一秒后自行结束。
import multiprocessing as mp
import os


def echo(conn):
    print("echo: pid", os.getpid(), flush=True)
    while True:
        message = conn.recv()
        if message is None:
            break
        conn.send(message.upper())
    conn.close()


if __name__ == "__main__":
    # 两个端点：父进程留一个，另一个交给子进程。
    parent_end, child_end = mp.Pipe()
    child = mp.Process(target=echo, args=(child_end,), name="echo")
    child.start()
    for word in ["ping", "hello", "bye"]:
        parent_end.send(word)
        print("main: sent", word, "got back", parent_end.recv(), flush=True)
    parent_end.send(None)
    child.join()
