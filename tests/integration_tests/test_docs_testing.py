from tests.docs import python_blocks, run_page


def test_testing_page_runs() -> None:
    assert len(python_blocks("testing.md")) == 4
    run_page("testing.md")
