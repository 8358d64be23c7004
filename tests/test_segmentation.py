import re

import pytest

from synthesis.text import segment_text, split_roles
from synthesis.text.segment import FIRST_SEGMENT_UNITS, units
from synthesis.text.sentences import sentences, split_sentences

LONG = ("When the quiet evening settled over the harbor, the fishermen pulled their boats onto the sand "
        "and began to mend their nets by lantern light. Children ran between the hulls. Somewhere a radio "
        "played an old song, and the smell of salt and smoke drifted up the hill toward the town, where "
        "the shops were closing one by one.")


def words(text):
    return re.findall(r"[\u4e00-\u9fff]|[^\s\u4e00-\u9fff]+", text)


def test_it_loses_and_duplicates_no_word():
    for window in (5, 12, 50):
        segments = segment_text(LONG, length_threshold=10, window_size=window)
        assert words(" ".join(s.text for s in segments)) == words(LONG)


def test_it_keeps_the_first_segment_short():
    segments = segment_text(LONG, window_size=50)
    assert units(segments[0].text) <= FIRST_SEGMENT_UNITS
    assert len(segments) > 2


def test_it_honours_window_size():
    for segment in segment_text(LONG, length_threshold=10, window_size=8):
        assert units(segment.text) <= 8


def test_it_splits_mandarin_by_clause_without_losing_characters():
    text = "今天天气很好，我们去公园散步吧。公园里有很多人，有的在跑步，有的在跳舞，还有的在下棋。"
    segments = segment_text(text, length_threshold=5, window_size=10)
    assert "".join(s.text for s in segments) == text
    assert all(units(s.text) <= 10 for s in segments)


def test_a_first_clause_up_to_twice_the_first_segment_is_not_cut_mid_phrase():
    sentence = "El billete cuesta cuarenta y cinco euros y el viaje dura tres horas."
    assert [s.text for s in segment_text(sentence)] == [sentence]
    assert [s.text for s in segment_text("会议定在二零二五年三月五日上午十点开始。")] == ["会议定在二零二五年三月五日上午十点开始。"]


def test_a_long_clause_is_cut_at_word_boundaries_without_a_pause_or_an_orphaned_tail():
    text = "今天早上我们沿着安静的河边散步看到很多人在公园里锻炼身体天气非常好大家都很开心。"
    segments = segment_text(text)
    assert "".join(s.text for s in segments) == text
    assert segments[0].pause_after == 0.0 and units(segments[0].text) <= FIRST_SEGMENT_UNITS
    assert not segments[0].text.endswith("安静")  # jieba's words stay whole
    words_only = " ".join(["word"] * 13) + "."
    assert [units(s.text) for s in segment_text(words_only, window_size=14)] == [13]


def test_it_keeps_short_text_whole():
    assert [s.text for s in segment_text("Hello world.")] == ["Hello world."]


def test_it_parses_role_tags():
    assert split_roles("<role:female> 你好！<role:male> 我很好，谢谢！") == [("female", "你好！"),
                                                                       ("male", "我很好，谢谢！")]


def test_it_refuses_text_before_the_first_role_tag():
    import pytest

    from synthesis.text import RoleTagError

    with pytest.raises(RoleTagError):
        split_roles("hello <role:a> there")


@pytest.mark.parametrize("text", ["It costs 3.5 dollars. Ok!", 'He said "hi." Then left.\n\nNew para',
                                  "你好。今天是晴天！“好的。”然后", "a; b… c?! d", "", "   "])
def test_sentence_splitting_loses_nothing(text):
    pieces, rest = split_sentences(text)
    assert "".join(pieces) + rest == text and rest == ""


def test_one_sentence_rule_for_whole_texts_and_streams():
    assert sentences('He said "hi." It costs 3.5 dollars.') == ['He said "hi."', "It costs 3.5 dollars."]
    assert sentences("你好。“今天？”好") == ["你好。", "“今天？”", "好"]
    # A stream ending in "3." may still become "3.5": only the normalizer's and segmenter's whole
    # texts close it at the end.
    assert split_sentences("It costs 3.", final=False) == ([], "It costs 3.")
    assert split_sentences("Line one\nline", final=False) == (["Line one\n"], "line")


def test_with_growth_each_segment_is_at_most_that_much_longer_than_allowed_before():
    segments = segment_text(LONG * 3, growth=2.0)
    limits = [FIRST_SEGMENT_UNITS * 2 ** i for i in range(len(segments))]
    assert all(units(s.text) <= min(50, limit) for s, limit in zip(segments[1:], limits[1:]))
    assert units(segments[1].text) < 30 < max(units(s.text) for s in segments)  # short early, long later
    assert words(" ".join(s.text for s in segments)) == words(LONG * 3)
