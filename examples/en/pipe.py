# Pipe: two connected ends; what one end sends, the other receives.
#
# In the Processes tree: one child, "echo", which answers each message in upper case and
# exits with code 0 when it receives None; it is joined. (A Pipe is not a node of the tree:
# mptree shows processes, queues and pools. The child's pid in its tooltip is the one it
# prints.)
# In the timeline: echo's lane lasts as long as the conversation.
# Ends on its own in about a second.
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
    # Two ends: the parent keeps one, the child gets the other.
    parent_end, child_end = mp.Pipe()
    child = mp.Process(target=echo, args=(child_end,), name="echo")
    child.start()
    for word in ["ping", "hello", "bye"]:
        parent_end.send(word)
        print("main: sent", word, "got back", parent_end.recv(), flush=True)
    parent_end.send(None)
    child.join()
