using System.Buffers;

namespace P2PTransfer.Tests.Support;

/// <summary>Builds a ReadOnlySequence from several segments, to test parsing across segment boundaries.</summary>
public sealed class Segment : ReadOnlySequenceSegment<byte>
{
    private Segment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(byte[] bytes, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < bytes.Length).Distinct().Order().Append(bytes.Length).ToArray();
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        var first = new Segment(bytes.AsMemory(0, bounds[0]), 0);
        var last = first;
        int start = bounds[0];
        foreach (int end in bounds.Skip(1))
        {
            var next = new Segment(bytes.AsMemory(start, end - start), start);
            last.Next = next;
            last = next;
            start = end;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
