def test_branch_page_renders(client, tree, members):
    response = client.get(tree.branch_a.url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "幸福里网格党支部" in html
    assert "刘洋" in html
    assert "陈静" not in html
