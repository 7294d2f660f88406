using P2PTransfer.Identity;
using Xunit;

namespace P2PTransfer.Tests.Identity;

public sealed class NodeIdTextTests
{
    [Fact]
    public void The_display_form_is_four_groups_of_seven_base32_characters()
    {
        var text = NodeIdText.Format(Guid.NewGuid());
        Assert.Matches("^[A-Z2-7]{7}-[A-Z2-7]{7}-[A-Z2-7]{7}-[A-Z2-7]{7}$", text);
    }

    [Fact]
    public void The_example_of_the_protocol_document_is_the_display_form_of_its_id()
    {
        // docs/protocol.md section 10.
        Assert.Equal("AAISEM2-EKVTHPQ-CEZVK54-ZXPO74A", NodeIdText.Format(Guid.Parse("00112233-4455-6677-8899-aabbccddeeff")));
    }

    [Fact]
    public void The_display_form_reads_back_to_the_same_id_with_or_without_dashes_and_in_any_case()
    {
        for (int i = 0; i < 200; i++)
        {
            var id = Guid.NewGuid();
            var text = NodeIdText.Format(id);
            Assert.True(NodeIdText.TryParse(text, out var back));
            Assert.Equal(id, back);
            Assert.True(NodeIdText.TryParse(text.Replace("-", "").ToLowerInvariant(), out back));
            Assert.Equal(id, back);
        }
    }

    [Fact]
    public void A_mistyped_character_is_caught_by_the_check()
    {
        var text = NodeIdText.Format(Guid.NewGuid());
        int caught = 0, tried = 0;
        for (int at = 0; at < text.Length; at++)
        {
            if (text[at] == '-')
            {
                continue;
            }

            var changed = text.ToCharArray();
            changed[at] = changed[at] == 'A' ? 'B' : 'A';
            tried++;
            if (!NodeIdText.TryParse(new string(changed), out _))
            {
                caught++;
            }
        }

        Assert.Equal(tried, caught);
    }

    [Fact]
    public void A_guid_text_is_read_too_and_nonsense_is_not()
    {
        var id = Guid.NewGuid();
        Assert.True(NodeIdText.TryParse(id.ToString(), out var back));
        Assert.Equal(id, back);
        Assert.False(NodeIdText.TryParse("", out _));
        Assert.False(NodeIdText.TryParse("not-an-id", out _));
        Assert.False(NodeIdText.TryParse(Guid.Empty.ToString(), out _));
    }
}
