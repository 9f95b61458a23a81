"""The LeanStorage Python guide's examples, verbatim, ported by changing only
the import (``import leancloud`` -> ``import cql.leancloud as leancloud``) and
run on an embedded database file (the "connect line": CQL_TARGET, which the
guide's own ``leancloud.init(...)`` then uses too).

Left out: the examples that cannot run anywhere as printed (Python 2 ``print``
statements, ``07`` octal literals, a misspelt variable) and those that read
objectIds of the guide authors' app."""
from __future__ import annotations

import pytest

import cql

GUIDE = [
    # 对象 / 保存对象
    '''
import leancloud


# 可以用继承的方式定义 leancloud.Object 的子类
class Todo(leancloud.Object):
    pass
# 或者用以下的方式定义子类
# Todo = leancloud.Object.extend('Todo')
todo = Todo()
todo.set('title', '工程师周会')
todo.set('content', '每周工程师会议，周一下午2点')
todo.save()
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
todo = Todo()
todo.set('title', '工程师周会')
todo.set('content', '每周工程师会议，周一下午2点')
todo.set('location', '会议室')  # 增加一个字段
todo.save()
''',
    '''
from datetime import datetime
import leancloud

SupportedType = leancloud.Object.extend('SupportedType')
supported_type = SupportedType()
supported_type.set('string', '工作')
supported_type.set('int', 108)
supported_type.set('float', 1.890)
supported_type.set('boolean', True)
supported_type.set('list', [1, 2, [3, 4, 'string']])
supported_type.set(
    'dict', {'item1': 12, 'item2': 'string item', 'item3': [1, 2, '3']})
supported_type.set('date', datetime.now())
supported_type.save()
''',
    '''
import leancloud

TodoFolder = leancloud.Object.extend('TodoFolder')
todo_folder = TodoFolder()
todo_folder.set('name', '工作')
todo_folder.set('priority', 1)
todo_folder.save()
''',
    '''
import leancloud

query_string = r"insert into TodoFolder(name, priority) values('工作', 78)"
result = leancloud.Query.do_cloud_query(query_string)
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
todo = Todo()
todo.set('title', '工程师周会')
todo.set('content', '每周工程师会议，周一下午2点')
todo.save()
# 一旦保存成功，todo 对象就会获得一个 objectId，通过 todo.id 获得
object_id = todo.id
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
todo1 = Todo()
todo2 = Todo()
todo3 = Todo()
todo1.set('status', 1)
todo2.set('status', 2)
todo3.set('status', 3)

Todo.save_all([todo1, todo2, todo3])  # save_all 是一个类方法
''',
    # 关联数据
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
TodoFolder = leancloud.Object.extend('TodoFolder')

todo_folder = TodoFolder()
todo_folder.set('name', '工作')
todo_folder.set('priority', 1)

todo1 = Todo()
todo1.set('title', '工程师周会')
todo1.set('content', '工程师周会，周一下午2点')
todo1.set('location', '会议室')

todo2 = Todo()
todo2.set('title', '维护文档')
todo2.set('content', '每天 16：00 到 18：00 定期维护文档')
todo2.set('location', '当前工位')

todo3 = Todo()
todo3.set('title', '发布 SDK')
todo3.set('content', '每周一下午 15：00')
todo3.set('location', 'SA 工位')

todo1.save()
todo2.save()
todo3.save()

relation = todo_folder.relation('containedTodos')
relation.add(todo1)
relation.add(todo2)
relation.add(todo3)

todo_folder.save()
''',
    '''
import leancloud

Comment = leancloud.Object.extend('Comment')
TodoFolder = leancloud.Object.extend('TodoFolder')

comment = Comment()
# 如果点了赞就是 1，而点了不喜欢则为 -1，没有做任何操作就是默认的 0
comment.set('like', 1)
# 留言的内容
comment.set('content', '这个太赞了！楼主，我也要这些游戏，咱们团购么？')

# 假设已知了被分享的该 TodoFolder 的 objectId 是 5732a4821ea4930064013bdb
todo_folder = TodoFolder.create_without_data('5732a4821ea4930064013bdb')
comment.set('targetTodoFolder', todo_folder)
comment.save()
''',
    '''
import leancloud

point = leancloud.GeoPoint(39.9, 116.4)
''',
    '''
todo.set('whereCreated', point)
todo.save()
''',
    # 查询
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query

# 获取符合 priority = 0 的 Todo数组
query_list = query.equal_to('priority', 0).find()
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query

query.equal_to('priority', 0)
query.equal_to('priority', 1)

# 如果这样写，只会返回 priority = 1 的结果
query_list = query.find()
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query
query.matched('title', '^李总')
todo_list = query.find()
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query

query.not_contained_in('title', ['出差','休假'])
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query1 = Todo.query
query2 = Todo.query

query1.greater_than('priority', 3)
query2.equal_to('status', 1)

# 返回 priority 大于等于 3 或 status 等于 1 的 Todo
query = leancloud.Query.or_(query1,query2)
''',
    '''
or_list = query.find()
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query
query.equal_to('priority', 3)
todo_first = query.first()
''',
    '''
from datetime import datetime
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query
date = datetime.now()

query.less_than('createdAt', date)  # 查询今天之前创建的 Todo
query.limit(10)   # 最多返回 10 条结果
query.skip(20)    # 跳过 20 条结果 跳过 20 条结果
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query
query.select('title', 'content')
query_list = query.find()

for todo in query_list:
    title = todo.get('title')
    content = todo.get('content')
    # 如果访问没有指定返回的属性（key），则会返回 null
    location = todo.get('location')
''',
    '''
import leancloud

Todo = leancloud.Object.extend('Todo')
query = Todo.query
query.equal_to('status', 1)
todo_count = query.count()  # 获取输出计数
''',
    '''
import leancloud

comment_query = leancloud.Query('Comment')
comment_query.add_descending('createdAt')
comment_query.limit(10)
# 关键代码，用 include 告知服务端需要返回的关联属性对应的对象的详细信息，而不仅仅是 objectId
comment_query.include('targetTodoFolder')
comment_list = comment_query.find()
''',
    '''
import leancloud

inner_query = leancloud.Query('TodoFolder')
inner_query.greater_than('likes', 20)  # 设置内置查询条件

query = leancloud.Query('Comment')
query.matches_query('targetTodoFolder', inner_query)  # 将内嵌查询赋予目标查询
# query.does_not_match_query('targetTodoFolder', inner_query)
# 也可以查询不包含内嵌查询的目标查询
query.find()  # 返回符合超过 20 个赞的 TodoFolder 这一条件的 Comment 对象集合
''',
    '''
import leancloud

cql = " select * from Todo where status = ? and priority = ?"
todo_query = leancloud.Query.do_cloud_query(cql, 1, 4)
todo_list = todo_query.results # 返回符合条件的 todo list
''',
    '''
import leancloud

leancloud.init("{{appid}}", "{{appkey}}")
query = leancloud.Query('Todo')
point = leancloud.GeoPoint(39.9, 116.4)
query.limit(10)
query.near('whereCreated', point)  # 离这个位置最近的 10 个 Todo 对象
near_list = query.find()
''',
]


def port(snippet: str) -> str:
    """The one change a user makes."""
    return snippet.replace("import leancloud", "import cql.leancloud as leancloud")


@pytest.fixture
def guide_db(tmp_path, monkeypatch):
    path = str(tmp_path / "app.db")
    monkeypatch.setenv("CQL_TARGET", path)
    conn = cql.init(path)
    conn.execute("insert into Todo(title, priority, status) values ('李总的会', 3, 1), ('写文档', 4, 1), "
                 "('出差', 0, 0)")
    yield path
    cql.connection.default_connection().close()


def test_guide_examples_run_unchanged(guide_db):
    namespace: dict = {}
    for snippet in GUIDE:
        exec(compile(port(snippet), "<guide>", "exec"), namespace)
    run = cql.execute
    assert run("select count(*) from TodoFolder where name = '工作'").count == 3
    assert run("select * from SupportedType").results[0]["list"] == [1, 2, [3, 4, "string"]]
    assert namespace["object_id"] and len(namespace["query_list"]) == 12  # the select() snippet: every Todo
    folder = run("select * from TodoFolder where priority = 1 and containedTodos is exists").results[0]
    assert folder["containedTodos"] == cql.Relation("Todo")
    saved = cql.Object.extend("TodoFolder").create_without_data(folder["objectId"])
    assert sorted(t.get("title") for t in saved.relation("containedTodos").query.find()) == [
        "发布 SDK", "工程师周会", "维护文档"]
    # priority > 3 or status = 1: the two seeded todos with status 1 and save_all's todo1
    assert sorted((t.get("priority") or 0, t.get("status")) for t in namespace["or_list"]) == [(0, 1), (3, 1), (4, 1)]
    assert namespace["todo_first"].get("title") == "李总的会"
    assert [t.get("title") for t in namespace["todo_list"]] == ["写文档"]  # status 1, priority 4
    assert namespace["todo_count"] == 3  # two seeded, todo1 of save_all
    assert namespace["comment_list"][0].get("targetTodoFolder").id == "5732a4821ea4930064013bdb"
    assert [t.get("title") for t in namespace["near_list"]] == ["工程师周会"]
    assert namespace["result"].results[0].id  # the CQL insert


def test_same_field_twice_is_never_silently_the_last_condition(guide_db):
    import cql.leancloud as leancloud
    Todo = leancloud.Object.extend("Todo")
    query = Todo.query
    query.equal_to("priority", 0)
    query.equal_to("priority", 3)
    assert query.where == {"$and": [{"priority": 0}, {"priority": 3}]} and query.find() == []
